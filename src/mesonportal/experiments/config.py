"""Typed, validated experiment configuration parsed from TOML.

Every key is checked against :data:`SCHEMA`: unknown sections or keys, wrong types and values
outside their allowed range raise :class:`~mesonportal.exceptions.ConfigError` with a message
naming the file, the key and what is expected.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mesonportal.exceptions import ConfigError, UnknownExperimentError
from mesonportal.experiments.bnb_geometry import HornTable, check_target_in_horn, load_horn_table, load_target_table

MODES = ("nu", "nubar", "dump")

_REAL = (int, float)

# section -> key -> (kind, lower, upper, required)
#   kind: "real", "str", "int", "modes" (table of reals per mode), "vec3", "profile"
SCHEMA: dict[str, dict[str, tuple]] = {
    "experiment": {"name": ("str", None, None, True), "description": ("str", None, None, False)},
    "beam": {
        "particle": ("str", None, None, True),
        "momentum_mev": ("real", 1.0, 1e8, True),
        "spot_sigma_x_cm": ("real", 0.0, 100.0, False),
        "spot_sigma_y_cm": ("real", 0.0, 100.0, False),
        "divergence_sigma_x_rad": ("real", 0.0, 1.0, False),
        "divergence_sigma_y_rad": ("real", 0.0, 1.0, False),
        "pot": ("modes", 0.0, 1e30, True),
    },
    "target": {
        "material": ("str", None, None, True),
        "atomic_number": ("real", 1, 120, True),
        "mass_number": ("real", 1, 300, True),
        "length_cm": ("real", 1e-6, 1e5, False),
        "radius_cm": ("real", 1e-6, 1e4, False),
        "density_g_cm3": ("real", 1e-6, 100.0, False),
        "sigma_inel_mb": ("real", 1e-3, 1e5, True),
        "sigma_qel_mb": ("real", 0.0, 1e5, False),
        "absorption_length_cm": ("real", 1e-3, 1e9, False),
    },
    "horn": {
        # geometry: a bundled table name ("bnb_official") or a directory holding horn.txt + target.txt
        "geometry": ("str", None, None, True),
        "current_ka": ("modes", -1e4, 1e4, True),
        "target_shift_cm": ("real", -1e4, 1e4, False),
        "inner_conductor_absorption_length_cm": ("real", 1e-3, 1e9, False),
    },
    "decay_region": {
        "z_start_cm": ("real", -1e6, 1e7, True),
        "pipe_radius_cm": ("real", 1e-3, 1e5, True),
        "absorber_z_cm": ("real", 0.0, 1e7, True),
        "collimator_radius_cm": ("real", 1e-3, 1e5, False),
        "absorption_length_cm": ("real", 1e-3, 1e12, False),
    },
    "dump": {
        "absorber_z_cm": ("real", 0.0, 1e7, True),
        "absorber_material": ("str", None, None, False),
        "mass_number": ("real", 1, 300, False),
        "density_g_cm3": ("real", 1e-6, 100.0, False),
        "sigma_inel_mb": ("real", 1e-3, 1e5, False),
        "absorption_length_cm": ("real", 1e-3, 1e9, False),
        # charged-meson fates in steel (sources/fates.py): dump mode and target-mode path ends
        "pion_interaction_length_cm": ("real", 1e-3, 1e6, False),
        "kaon_interaction_length_cm": ("real", 1e-3, 1e6, False),
        "kplus_charge_exchange_fraction": ("real", 0.0, 1.0, False),
    },
    "detector": {
        "shape": ("str", None, None, True),
        "center_cm": ("vec3", -1e9, 1e9, True),
        "radius_cm": ("real", 1e-3, 1e6, True),
        "fiducial_radius_cm": ("real", 0.0, 1e6, False),
        "medium": ("str", None, None, True),
        "density_g_cm3": ("real", 1e-6, 100.0, True),
        "mass_t": ("real", 0.0, 1e9, False),
    },
}
OPTIONAL_SECTIONS = {"horn", "decay_region", "dump"}
SHAPES = ("sphere",)
MEDIA = {
    # medium -> list of (element, Z, A, atoms per molecule); molar mass follows from A
    "CH2": [("C", 6, 12.011, 1), ("H", 1, 1.008, 2)],
    "Ar": [("Ar", 18, 39.948, 1)],
}


@dataclass(frozen=True)
class Beam:
    particle: str
    momentum_mev: float
    spot_sigma_x_cm: float
    spot_sigma_y_cm: float
    divergence_sigma_x_rad: float
    divergence_sigma_y_rad: float
    pot: dict[str, float]


@dataclass(frozen=True)
class Target:
    material: str
    atomic_number: float
    mass_number: float
    length_cm: float
    radius_cm: float
    density_g_cm3: float
    sigma_inel_mb: float
    sigma_qel_mb: float
    absorption_length_cm: float = math.inf  # meson absorption length in the target (cm)

    @property
    def number_density_cm3(self) -> float:
        """Nuclei per cm³."""
        from mesonportal.constants import N_AVOGADRO

        return self.density_g_cm3 * N_AVOGADRO / self.mass_number

    @property
    def interaction_length_cm(self) -> float:
        """Inelastic interaction length λ = 1/(n σ_inel) in cm."""
        return 1.0 / (self.number_density_cm3 * self.sigma_inel_mb * 1e-27)


@dataclass(frozen=True)
class Horn:
    """Magnetic horn from a geometry table (:mod:`mesonportal.experiments.bnb_geometry`).

    ``table`` is in horn coordinates (z = 0 at the conductor's upstream face); the package works
    in target coordinates (z = 0 at the target's upstream face): z_target = z_horn + ``z_offset_cm``
    with ``z_offset_cm = −(target_z_start_cm + target_shift_cm)``.
    """

    current_ka: dict[str, float]
    geometry: str
    table: HornTable
    target_z_start_cm: float  # upstream face of the target in horn coordinates (from the geometry)
    target_shift_cm: float = 0.0  # user shift of the target downstream of its tabulated position
    inner_conductor_absorption_length_cm: float = math.inf  # meson absorption length in the conductor (cm)

    @property
    def z_offset_cm(self) -> float:
        return -(self.target_z_start_cm + self.target_shift_cm)

    @property
    def outer_radius_cm(self) -> float:
        """Largest outer radius of the field region (cm)."""
        return float(np.max(self.table.surfaces["r_field_max"][1]))

    def inner_radius(self, z_cm: np.ndarray) -> np.ndarray:
        """Inner-conductor inner surface r_in (cm) at target-frame z (cm); NaN outside the conductor."""
        return self.table.radius("r_in", np.asarray(z_cm, dtype=float) - self.z_offset_cm)

    def field_inner_radius(self, z_cm: np.ndarray) -> np.ndarray:
        """Inner radius r_out (cm) of the field region at target-frame z (cm); NaN outside it."""
        return self.table.radius("r_out", np.asarray(z_cm, dtype=float) - self.z_offset_cm)

    @property
    def z_range_cm(self) -> tuple[float, float]:
        """Conductor z range in target coordinates (cm)."""
        z0, z1 = self.table.conductor_z_range
        return z0 + self.z_offset_cm, z1 + self.z_offset_cm


@dataclass(frozen=True)
class DecayRegion:
    z_start_cm: float
    pipe_radius_cm: float
    absorber_z_cm: float
    collimator_radius_cm: float = math.inf  # aperture between horn end and z_start (cm)
    absorption_length_cm: float = math.inf  # meson absorption length of the pipe gas (cm)


@dataclass(frozen=True)
class Dump:
    absorber_z_cm: float
    absorber_material: str
    mass_number: float = 55.845
    density_g_cm3: float = 7.874
    sigma_inel_mb: float = 702.0
    absorption_length_cm: float = 16.77
    pion_interaction_length_cm: float = 20.42  # PDG iron: 160.8 g/cm^2
    kaon_interaction_length_cm: float = 20.42  # assumption: = pion value (sources/fates.py)
    kplus_charge_exchange_fraction: float = 0.2  # assumption (sources/fates.py)


@dataclass(frozen=True)
class Detector:
    shape: str
    center_cm: np.ndarray
    radius_cm: float
    fiducial_radius_cm: float
    medium: str
    density_g_cm3: float
    mass_t: float

    @property
    def composition(self) -> list[tuple[str, int, float, int]]:
        """(element, Z, A, atoms per molecule) of the medium."""
        return MEDIA[self.medium]

    def number_densities_cm3(self) -> dict[str, float]:
        """Atoms of each element per cm³ of the medium."""
        from mesonportal.constants import N_AVOGADRO

        comp = self.composition
        molar = sum(a * k for _, _, a, k in comp)
        n_mol = self.density_g_cm3 * N_AVOGADRO / molar
        return {el: n_mol * k for el, _, _, k in comp}


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    beam: Beam
    target: Target
    horn: Horn | None
    decay_region: DecayRegion | None
    dump: Dump | None
    detector: Detector
    source_path: str

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self.beam.pot)

    def pot(self, mode: str) -> float:
        check_mode(self, mode)
        return self.beam.pot[mode]


def check_mode(exp: Experiment, mode: str) -> str:
    if mode not in exp.beam.pot:
        raise ConfigError(
            f"unknown mode {mode!r} for experiment {exp.name!r}; allowed: {', '.join(exp.beam.pot)}"
        )
    return mode


def _shipped_dir():
    return resources.files("mesonportal.experiments")


def available_experiments() -> list[str]:
    """Names of the experiment configurations shipped with the package."""
    return sorted(p.name[:-5] for p in _shipped_dir().iterdir() if p.name.endswith(".toml"))


def load_experiment(name_or_path: str | Path) -> Experiment:
    """Load a shipped experiment by name (``"miniboone"``) or a user TOML file by path."""
    text, origin = _read_source(name_or_path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from None
    return parse_experiment(raw, origin)


def _read_source(name_or_path: str | Path) -> tuple[str, str]:
    s = str(name_or_path)
    shipped = available_experiments()
    if s in shipped:
        return (_shipped_dir() / f"{s}.toml").read_text(encoding="utf-8"), f"{s}.toml"
    p = Path(s)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise UnknownExperimentError(f"experiment file {s!r} does not exist")
        try:
            return p.read_text(encoding="utf-8"), str(p)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{s}: cannot read: {exc}") from None
    raise UnknownExperimentError(
        f"unknown experiment {s!r}; allowed: {', '.join(shipped)} or a path to a TOML file"
    )


def _check_value(origin: str, where: str, value: Any, kind: str, lo, hi):
    def real(v, key):
        if isinstance(v, bool) or not isinstance(v, _REAL):
            raise ConfigError(f"{origin}: key '{key}' must be a number, got {type(v).__name__}")
        v = float(v)
        if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ConfigError(f"{origin}: key '{key}' = {v!r} out of range [{lo}, {hi}]")
        return v

    if kind == "real":
        return real(value, where)
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{origin}: key '{where}' must be a non-empty string")
        return value
    if kind == "modes":
        if not isinstance(value, dict) or not value:
            raise ConfigError(f"{origin}: key '{where}' must be a table of mode = number ({', '.join(MODES)})")
        out = {}
        for m, v in value.items():
            if m not in MODES:
                raise ConfigError(f"{origin}: key '{where}.{m}' is not a mode; allowed: {', '.join(MODES)}")
            out[m] = real(v, f"{where}.{m}")
        return out
    if kind == "vec3":
        if not isinstance(value, list) or len(value) != 3:
            raise ConfigError(f"{origin}: key '{where}' must be a list of 3 numbers")
        return np.array([real(v, where) for v in value])
    if kind == "profile":
        if not isinstance(value, list) or len(value) < 2 or not all(isinstance(r, list) and len(r) == 2 for r in value):
            raise ConfigError(f"{origin}: key '{where}' must be a list of at least 2 [z_cm, r_cm] pairs")
        arr = np.array([[real(a, where), real(b, where)] for a, b in value])
        if np.any(np.diff(arr[:, 0]) <= 0):
            raise ConfigError(f"{origin}: key '{where}' z values must increase strictly")
        return arr
    raise AssertionError(kind)  # pragma: no cover


def parse_experiment(raw: dict[str, Any], origin: str = "<config>") -> Experiment:
    """Validate a parsed TOML document and build the :class:`Experiment`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: top level must be a table")
    for sec in raw:
        if sec not in SCHEMA:
            raise ConfigError(f"{origin}: unknown section [{sec}]; allowed: {', '.join(SCHEMA)}")
    parsed: dict[str, dict[str, Any] | None] = {}
    for sec, spec in SCHEMA.items():
        table = raw.get(sec)
        if table is None:
            if sec in OPTIONAL_SECTIONS:
                parsed[sec] = None
                continue
            raise ConfigError(f"{origin}: missing section [{sec}]")
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: [{sec}] must be a table")
        out: dict[str, Any] = {}
        for key, value in table.items():
            if key not in spec:
                raise ConfigError(f"{origin}: unknown key '{sec}.{key}'; allowed: {', '.join(spec)}")
            kind, lo, hi, _ = spec[key]
            out[key] = _check_value(origin, f"{sec}.{key}", value, kind, lo, hi)
        for key, (_, _, _, required) in spec.items():
            if required and key not in out:
                raise ConfigError(f"{origin}: missing key '{sec}.{key}'")
        parsed[sec] = out

    b = parsed["beam"]
    beam = Beam(
        particle=b["particle"], momentum_mev=b["momentum_mev"],
        spot_sigma_x_cm=b.get("spot_sigma_x_cm", 0.0), spot_sigma_y_cm=b.get("spot_sigma_y_cm", 0.0),
        divergence_sigma_x_rad=b.get("divergence_sigma_x_rad", 0.0),
        divergence_sigma_y_rad=b.get("divergence_sigma_y_rad", 0.0), pot=b["pot"],
    )
    t = parsed["target"]
    horn = None
    if parsed["horn"] is not None:
        h = parsed["horn"]
        for m in h["current_ka"]:
            if m not in beam.pot:
                raise ConfigError(f"{origin}: key 'horn.current_ka.{m}' names a mode without POT in [beam.pot]")
        try:
            table = load_horn_table(h["geometry"])
            tgt = load_target_table(h["geometry"])
        except ConfigError as exc:
            raise ConfigError(f"{origin}: key 'horn.geometry' = {h['geometry']!r}: {exc}") from None
        # target dimensions default to the geometry's target table (a TOML value overrides it)
        t.setdefault("length_cm", tgt.length_cm)
        t.setdefault("radius_cm", tgt.radius_cm)
        t.setdefault("density_g_cm3", tgt.density_g_cm3)
        horn = Horn(
            current_ka=h["current_ka"], geometry=h["geometry"], table=table, target_z_start_cm=tgt.z_start_cm,
            target_shift_cm=h.get("target_shift_cm", 0.0),
            inner_conductor_absorption_length_cm=h.get("inner_conductor_absorption_length_cm", math.inf),
        )
        check_target_in_horn(table, tgt.z_start_cm + horn.target_shift_cm, t["length_cm"], t["radius_cm"],
                             f"{origin}: [target] with horn.geometry = {h['geometry']!r} and "
                             f"horn.target_shift_cm = {horn.target_shift_cm:g}")
    for key in ("length_cm", "radius_cm", "density_g_cm3"):
        if key not in t:
            raise ConfigError(f"{origin}: missing key 'target.{key}' (required without a [horn] geometry)")
    target = Target(sigma_qel_mb=t.pop("sigma_qel_mb", 0.0), **t)
    if target.sigma_qel_mb >= target.sigma_inel_mb:
        raise ConfigError(f"{origin}: key 'target.sigma_qel_mb' = {target.sigma_qel_mb:g} must be below "
                          f"target.sigma_inel_mb = {target.sigma_inel_mb:g}")
    dr = DecayRegion(**parsed["decay_region"]) if parsed["decay_region"] is not None else None
    if dr is not None and dr.absorber_z_cm <= dr.z_start_cm:
        raise ConfigError(f"{origin}: key 'decay_region.absorber_z_cm' must exceed decay_region.z_start_cm")
    dump = None
    if parsed["dump"] is not None:
        d = parsed["dump"]
        dump = Dump(absorber_z_cm=d["absorber_z_cm"], absorber_material=d.get("absorber_material", "Fe"),
                    **{k: d[k] for k in ("mass_number", "density_g_cm3", "sigma_inel_mb", "absorption_length_cm",
                                       "pion_interaction_length_cm", "kaon_interaction_length_cm",
                                       "kplus_charge_exchange_fraction") if k in d})
    d = parsed["detector"]
    if d["shape"] not in SHAPES:
        raise ConfigError(f"{origin}: key 'detector.shape' = {d['shape']!r}; allowed: {', '.join(SHAPES)}")
    if d["medium"] not in MEDIA:
        raise ConfigError(f"{origin}: key 'detector.medium' = {d['medium']!r}; allowed: {', '.join(MEDIA)}")
    det = Detector(
        shape=d["shape"], center_cm=d["center_cm"], radius_cm=d["radius_cm"],
        fiducial_radius_cm=d.get("fiducial_radius_cm", d["radius_cm"]), medium=d["medium"],
        density_g_cm3=d["density_g_cm3"], mass_t=d.get("mass_t", 0.0),
    )
    if det.fiducial_radius_cm > det.radius_cm:
        raise ConfigError(f"{origin}: key 'detector.fiducial_radius_cm' must not exceed detector.radius_cm")
    e = parsed["experiment"]
    return Experiment(
        name=e["name"], description=e.get("description", ""), beam=beam, target=target, horn=horn,
        decay_region=dr, dump=dump, detector=det, source_path=origin,
    )
