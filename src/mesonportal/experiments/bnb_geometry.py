"""Horn and target geometry tables (official BNB geometry bundled under ``data/bnb_official``).

A horn table lists planes ``z r_in r_out r_field_max r_conductor_max`` (cm, horn coordinates:
z = 0 at the upstream face of the horn conductor); each of the four surfaces is linear between
its own planes (``-`` = no plane of that surface at this z):

* ``r_in``: inner surface of the aluminium inner conductor (field-free for r < r_in);
* ``r_out``: outer surface of the inner conductor, where the field region starts;
* ``r_field_max``: outer edge of the field region (outer conductor);
* ``r_conductor_max``: outer surface of the aluminium envelope.

Aluminium fills the conductor envelope (r_in < r < r_conductor_max, z in the r_in planes' range)
outside the field region; the field B = μ0 I/(2π r) exists only in the field region
(r_out < r < r_field_max, z in the r_out planes' range). Source of the bundled table:
SBNSoftware/G4BNB ``geometry/BooNE_50m.gdml`` (commit 7476727), polycones HWL1 and HRN1.

Malformed tables raise :class:`~mesonportal.exceptions.ConfigError` with one line naming the
file, the row and the rule that is broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mesonportal.exceptions import ConfigError

#: Names of the bundled geometry tables (``data/<name>/horn.txt`` and ``target.txt``).
BUNDLED_GEOMETRIES = ("bnb_official",)
SURFACES = ("r_in", "r_out", "r_field_max", "r_conductor_max")


@dataclass(frozen=True)
class HornTable:
    """Parsed horn geometry (horn coordinates, cm). ``surfaces[name] = (z, r)`` arrays."""

    source: str
    surfaces: dict[str, tuple[np.ndarray, np.ndarray]]
    material: str = "Al"

    @property
    def conductor_z_range(self) -> tuple[float, float]:
        z = self.surfaces["r_in"][0]
        return float(z[0]), float(z[-1])

    @property
    def field_z_range(self) -> tuple[float, float]:
        z = self.surfaces["r_out"][0]
        return float(z[0]), float(z[-1])

    def radius(self, name: str, z_cm) -> np.ndarray:
        """Radius (cm) of surface ``name`` at horn-coordinate z (cm); NaN outside its planes."""
        z, r = self.surfaces[name]
        return np.interp(np.asarray(z_cm, dtype=float), z, r, left=np.nan, right=np.nan)


@dataclass(frozen=True)
class TargetTable:
    """Target rod from a geometry table (cm, g/cm³; z in horn coordinates)."""

    source: str
    material: str
    radius_cm: float
    length_cm: float
    z_start_cm: float
    z_end_cm: float
    density_g_cm3: float


def _locate(name_or_path: str, filename: str) -> tuple[str, str]:
    """(text, origin) of a bundled table ``data/<name>/<filename>`` or of ``<directory>/<filename>``."""
    if name_or_path in BUNDLED_GEOMETRIES:
        from mesonportal.data import read_text

        return read_text(f"{name_or_path}/{filename}"), f"data/{name_or_path}/{filename}"
    d = Path(name_or_path)
    p = d / filename
    if not d.is_dir():
        raise ConfigError(
            f"geometry {name_or_path!r} is neither a bundled geometry ({', '.join(BUNDLED_GEOMETRIES)}) "
            f"nor a directory holding {filename}"
        )
    if not p.is_file():
        raise ConfigError(f"geometry directory {name_or_path!r} has no {filename}")
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None


def _data_rows(text: str):
    for i, line in enumerate(text.splitlines(), start=1):
        s = line.split("#", 1)[0].strip()
        if s:
            yield i, s.split()


def _number(origin: str, row: int, token: str, what: str) -> float:
    try:
        v = float(token)
    except ValueError:
        raise ConfigError(f"{origin}: row {row}: {what} = {token!r} is not a number") from None
    if not np.isfinite(v):
        raise ConfigError(f"{origin}: row {row}: {what} = {token!r} must be finite")
    return v


def parse_horn_table(text: str, origin: str) -> HornTable:
    """Parse and validate a horn table (see the module docstring)."""
    material = "Al"
    for line in text.splitlines():
        s = line.lstrip("#").strip()
        if line.startswith("#") and s.startswith("conductor_material") and "=" in s:
            material = s.split("=", 1)[1].strip()
    pts: dict[str, list[tuple[float, float, int]]] = {k: [] for k in SURFACES}
    last_z, last_row = -np.inf, 0
    for row, tok in _data_rows(text):
        if len(tok) != 5:
            raise ConfigError(f"{origin}: row {row}: expected 5 columns (z r_in r_out r_field_max r_conductor_max), "
                              f"got {len(tok)}")
        z = _number(origin, row, tok[0], "z")
        if z <= last_z:
            raise ConfigError(f"{origin}: row {row}: z = {z:g} cm must increase strictly (previous row {last_row}: "
                              f"z = {last_z:g} cm)")
        last_z, last_row = z, row
        for name, t in zip(SURFACES, tok[1:]):
            if t == "-":
                continue
            r = _number(origin, row, t, name)
            if r < 0:
                raise ConfigError(f"{origin}: row {row}: {name} = {r:g} cm must be >= 0")
            pts[name].append((z, r, row))
    for name in SURFACES:
        if len(pts[name]) < 2:
            raise ConfigError(f"{origin}: surface {name} needs at least 2 planes, got {len(pts[name])}")
    surf = {k: (np.array([p[0] for p in v]), np.array([p[1] for p in v])) for k, v in pts.items()}
    table = HornTable(origin, surf, material)
    # ordering of the surfaces wherever two of them are defined at a plane
    zc0, zc1 = table.conductor_z_range
    zf0, zf1 = table.field_z_range
    if zf0 < zc0 or zf1 > zc1:
        raise ConfigError(f"{origin}: field region z = {zf0:g}..{zf1:g} cm must lie inside the conductor "
                          f"z = {zc0:g}..{zc1:g} cm")
    rules = (("r_out", "r_in", False, "r_out < r_in (the field region would start inside the conductor's bore)"),
             ("r_field_max", "r_out", True, "r_field_max <= r_out (empty field region)"),
             ("r_conductor_max", "r_field_max", False, "r_conductor_max < r_field_max (field outside the conductor)"),
             ("r_conductor_max", "r_in", True, "r_conductor_max <= r_in (empty conductor)"))
    all_rows = sorted({(z, row) for v in pts.values() for z, _, row in v})
    for outer, inner, strict, rule in rules:
        for z, row in all_rows:
            ro, ri = float(table.radius(outer, z)), float(table.radius(inner, z))
            if np.isnan(ro) or np.isnan(ri):
                continue
            if (ro <= ri) if strict else (ro < ri):
                raise ConfigError(f"{origin}: row {row}: at z = {z:g} cm {rule}: {outer} = {ro:g} cm, "
                                  f"{inner} = {ri:g} cm")
    return table


def parse_target_table(text: str, origin: str) -> TargetTable:
    """Parse a one-row target table ``material radius_cm length_cm z_start_cm z_end_cm density_g_cm3``."""
    rows = list(_data_rows(text))
    if len(rows) != 1:
        raise ConfigError(f"{origin}: expected exactly one target row, got {len(rows)}")
    row, tok = rows[0]
    if len(tok) != 6:
        raise ConfigError(f"{origin}: row {row}: expected 6 columns (material radius_cm length_cm z_start_cm "
                          f"z_end_cm density_g_cm3), got {len(tok)}")
    names = ("radius_cm", "length_cm", "z_start_cm", "z_end_cm", "density_g_cm3")
    v = dict(zip(names, (_number(origin, row, t, n) for t, n in zip(tok[1:], names))))
    for n in ("radius_cm", "length_cm", "density_g_cm3"):
        if v[n] <= 0:
            raise ConfigError(f"{origin}: row {row}: {n} = {v[n]:g} must be > 0")
    if abs(v["z_end_cm"] - v["z_start_cm"] - v["length_cm"]) > 0.01:
        raise ConfigError(f"{origin}: row {row}: z_end_cm - z_start_cm = {v['z_end_cm'] - v['z_start_cm']:g} cm "
                          f"must equal length_cm = {v['length_cm']:g} cm (within 0.01 cm)")
    return TargetTable(origin, tok[0], **v)


_BUNDLED_CACHE: dict[tuple[str, str], object] = {}


def _load_table(name_or_path: str, part: str, parse):
    """``<part>.txt`` of a bundled geometry name or a user directory, parsed by ``parse(text,
    origin)``; bundled tables are parsed once per process."""
    key = (name_or_path, part)
    if key in _BUNDLED_CACHE:
        return _BUNDLED_CACHE[key]
    text, origin = _locate(name_or_path, f"{part}.txt")
    table = parse(text, origin)
    if name_or_path in BUNDLED_GEOMETRIES:
        _BUNDLED_CACHE[key] = table
    return table


def load_horn_table(name_or_path: str) -> HornTable:
    """Horn table of a bundled geometry name (``"bnb_official"``) or a user directory."""
    return _load_table(name_or_path, "horn", parse_horn_table)


def load_target_table(name_or_path: str) -> TargetTable:
    """Target table of a bundled geometry name (``"bnb_official"``) or a user directory."""
    return _load_table(name_or_path, "target", parse_target_table)


def check_target_in_horn(horn: HornTable, z_start_cm: float, length_cm: float, radius_cm: float,
                         where: str) -> None:
    """Raise ConfigError unless the target rod (horn coordinates) lies inside the conductor's bore."""
    zc0, zc1 = horn.conductor_z_range
    z1 = z_start_cm + length_cm
    if z_start_cm < zc0 or z1 > zc1:
        raise ConfigError(f"{where}: target z = {z_start_cm:g}..{z1:g} cm (horn coordinates) lies outside the horn "
                          f"conductor z = {zc0:g}..{zc1:g} cm ({horn.source})")
    zz = np.concatenate([[z_start_cm, z1], horn.surfaces["r_in"][0]])
    zz = zz[(zz >= z_start_cm) & (zz <= z1)]
    rmin = float(np.nanmin(horn.radius("r_in", zz)))
    if radius_cm >= rmin:
        raise ConfigError(f"{where}: target radius {radius_cm:g} cm reaches the inner conductor (r_in = {rmin:g} cm "
                          f"along the target, {horn.source})")


@dataclass(frozen=True)
class CollimatorTable:
    """Conical air apertures downstream of the horn cavity (horn coordinates, cm), steel outside.

    ``rows`` = ((z_start, z_end, r_start, r_end), ...), contiguous in z; the radius is linear in z
    within a row."""

    source: str
    rows: tuple[tuple[float, float, float, float], ...]


def parse_collimator_table(text: str, origin: str) -> CollimatorTable:
    """Parse and validate a collimator table ``z_start_cm z_end_cm r_start_cm r_end_cm`` (one row per
    conical aperture, contiguous, z increasing, radii > 0)."""
    rows: list[tuple[float, float, float, float]] = []
    names = ("z_start_cm", "z_end_cm", "r_start_cm", "r_end_cm")
    for row, tok in _data_rows(text):
        if len(tok) != 4:
            raise ConfigError(f"{origin}: row {row}: expected 4 columns ({' '.join(names)}), got {len(tok)}")
        v = tuple(_number(origin, row, t, n) for t, n in zip(tok, names))
        if v[1] <= v[0]:
            raise ConfigError(f"{origin}: row {row}: z_end_cm = {v[1]:g} must exceed z_start_cm = {v[0]:g}")
        if v[2] <= 0 or v[3] <= 0:
            raise ConfigError(f"{origin}: row {row}: radii must be > 0 (r_start_cm = {v[2]:g}, r_end_cm = {v[3]:g})")
        if rows and abs(v[0] - rows[-1][1]) > 0.01:
            raise ConfigError(f"{origin}: row {row}: z_start_cm = {v[0]:g} must equal the previous row's "
                              f"z_end_cm = {rows[-1][1]:g} (contiguous apertures)")
        rows.append(v)  # type: ignore[arg-type]
    if not rows:
        raise ConfigError(f"{origin}: no collimator rows")
    return CollimatorTable(origin, tuple(rows))


def load_collimator_table(name_or_path: str) -> CollimatorTable:
    """Collimator table (``collimator.txt``) of a bundled geometry name or a user directory."""
    return _load_table(name_or_path, "collimator", parse_collimator_table)


__all__ = ["HornTable", "CollimatorTable", "parse_collimator_table", "load_collimator_table", "TargetTable", "BUNDLED_GEOMETRIES", "SURFACES", "parse_horn_table", "parse_target_table",
           "load_horn_table", "load_target_table", "check_target_in_horn"]
