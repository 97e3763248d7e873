"""Typed, validated experiment configuration parsed from TOML.

Every key is checked by the pydantic schema of :mod:`mesonportal.experiments.schema`: unknown
sections or keys, wrong types and values outside their allowed range raise
:class:`~mesonportal.exceptions.ConfigError` with a one-line message naming the file, the key
and what is expected.  The frozen dataclasses below are what the pipeline uses; the detector's
shapes are :mod:`mesonportal.geometry` objects in beam coordinates (cm).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mesonportal.exceptions import ConfigError, ParameterError, UnknownExperimentError
from mesonportal.experiments.bnb_geometry import (
    HornTable,
    check_target_in_horn,
    load_collimator_table,
    load_horn_table,
    load_target_table,
)

from mesonportal.experiments.keys import MODES, SHAPES  # noqa: E402  (re-exported)

#: Detector technologies: name -> (response module, selection topologies it can report).
TECHNOLOGIES: dict[str, dict[str, Any]] = {
    "cherenkov-oil": {"response": "mesonportal.detection.response", "topologies": ("single-shower",)},
    "lartpc": {"response": "mesonportal.responses.lartpc", "topologies": ("1g0p", "1g1p", "ee0p", "1e0p")},
    "scintillator": {"response": "mesonportal.responses.scintillator", "topologies": ("em",)},
    # fine-grained trackers / calorimeters of the high-energy beams (MINERvA, CHARM-II, T2K FGD):
    # selections at generator level in mesonportal.analysis.highenergy
    "tracking-calorimeter": {"response": "mesonportal.analysis.highenergy", "topologies": ("single-em",)},
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
    tertiary_production: bool = False  # re-interactions of secondary hadrons (sources/tertiary.py)
    tertiary_min_momentum_mev: float = 1000.0  # parents below this momentum make no tertiaries (MeV/c)
    tertiary_sample_fraction: float = 0.3  # tertiary samples per primary sample of each species
    tertiary_in_horn: bool = False  # tertiaries also from parents re-interacting in the horn aluminium
    tertiary_model: str = "sw_extrapolated"  # "urqmd_table" | "sw_extrapolated" (sources/tertiary.py)
    tertiary_table_max_momentum_mev: float = 6400.0  # parents below it use the table (MeV/c)
    pi_minus_parametrisation: str = "table_vi"  # pi- SW set (sources/spectra.py PI_MINUS_SETS)

    @property
    def number_density_cm3(self) -> float:
        """Nuclei per cm³."""
        from mesonportal.constants import N_AVOGADRO

        return self.density_g_cm3 * N_AVOGADRO / self.mass_number

    @property
    def interaction_length_cm(self) -> float:
        """Inelastic interaction length λ = 1/(n σ_inel) in cm."""
        return 1.0 / (self.number_density_cm3 * self.sigma_inel_mb * 1e-27)


_CAVITY_KEYS = ("x_half_width_cm", "y_min_cm", "y_max_cm", "z_min_cm", "z_max_cm")


def _cavity(c, origin) -> tuple[float, ...] | None:
    """``horn.cavity`` as (x_half_width, y_min, y_max, z_min, z_max) in horn coordinates (cm)."""
    if c is None:
        return None
    if set(c) != set(_CAVITY_KEYS):
        raise ConfigError(f"{origin}: key 'horn.cavity' needs exactly the keys {', '.join(_CAVITY_KEYS)}")
    v = tuple(float(c[k]) for k in _CAVITY_KEYS)
    if not (v[0] > 0 and v[1] < 0 < v[2] and v[3] < 0 < v[4]):
        raise ConfigError(f"{origin}: key 'horn.cavity' must enclose the horn axis at z = 0 "
                          "(x_half_width_cm > 0, y_min_cm < 0 < y_max_cm, z_min_cm < 0 < z_max_cm)")
    return v


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
    # air cavity around the horn (x_half_width, y_min, y_max, z_min, z_max; horn coordinates, cm) or None
    cavity: tuple[float, ...] | None = None
    conductor_mass_number: float | None = None  # A of the conductor nucleus (Al), for target.tertiary_in_horn
    conductor_density_g_cm3: float | None = None  # g/cm^3

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
    """Decay region after the horn (cm; z in target coordinates except ``apertures``).

    Without ``apertures``: a cylindrical collimator of ``collimator_radius_cm`` from the horn end to
    ``z_start_cm``, then the pipe. With ``apertures`` (from ``geometry``, e.g. the G4BNB collimator):
    the horn's air cavity up to its downstream face, then the conical apertures
    ((z_start, z_end, r_start, r_end), horn coordinates), then the pipe from ``z_start_cm`` (= the
    last aperture's end, target coordinates) to ``absorber_z_cm``."""

    z_start_cm: float
    pipe_radius_cm: float
    absorber_z_cm: float
    collimator_radius_cm: float = math.inf  # aperture between horn end and z_start (cm)
    absorption_length_cm: float = math.inf  # meson absorption length of the pipe gas (cm)
    geometry: str | None = None  # name/directory of the collimator table, or None
    apertures: tuple[tuple[float, float, float, float], ...] | None = None  # horn coordinates (cm)


@dataclass(frozen=True)
class Dump:
    absorber_z_cm: float
    absorber_material: str
    mass_number: float = 55.845
    density_g_cm3: float = 7.874
    sigma_inel_mb: float = 702.0
    absorption_length_cm: float = 16.77
    pion_interaction_length_cm: float = 20.42  # PDG iron: 160.8 g/cm^2 (sources/fates.py)
    kaon_interaction_length_cm: float = 20.42  # assumption: = pion value (sources/fates.py)
    kplus_charge_exchange_fraction: float = 0.2  # assumption (sources/fates.py)


@dataclass(frozen=True)
class StoppedSource:
    """A stopped-pion (decay-at-rest) source: yields per POT and the in-flight π⁰/η spectrum
    parameters (see :class:`mesonportal.experiments.schema.StoppedSourceSpec` and
    :mod:`mesonportal.sources.stopped`).  Energies in MeV, lengths in cm."""

    pi_plus_dar_per_pot: float
    pi_plus_dif_fraction: float = 0.0
    pi_minus_per_pot: float = 0.0
    pi_minus_decay_fraction: float = 0.0
    pi0_per_pot: float = 0.0
    eta_per_pot: float = 0.0
    pi0_temperature_mev: float = 60.0
    pi0_source_beta: float = 0.0
    dif_mean_kinetic_mev: float = 100.0
    vertex_sigma_cm: float = 0.0
    position_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    type: str = "stopped"


@dataclass(frozen=True)
class Dirt:
    """Upstream material ("dirt") around a detector: a volume in beam coordinates (cm) outside
    the detector, with its medium; dark particles up-scattered there can decay inside."""

    geometry: Any  # mesonportal.geometry.Shape
    medium: Any  # mesonportal.experiments.media.Medium

    def number_densities_cm3(self) -> dict[str, float]:
        return self.medium.number_densities_cm3()

    def scattering_centres(self, bound_nucleons: bool = False):
        from mesonportal.experiments.media import scattering_centres

        return scattering_centres(self.medium, bound_nucleons)


@dataclass(frozen=True)
class Detector:
    """A detector: active volume ``geometry`` (a :class:`mesonportal.geometry.Shape` in beam
    coordinates, cm), ``fiducial`` volume, medium, technology and optional dirt.

    ``center_cm`` and ``radius_cm`` are the **bounding sphere** of the active volume (the
    target of forced emission; for a spherical detector the sphere itself); chords and
    interaction points use the exact ``geometry``.  ``origin_cm``/``rotation`` place the
    detector coordinates (in which the TOML gives the shapes) in beam coordinates:
    x_beam = origin + rotation @ x_det."""

    shape: str
    center_cm: np.ndarray
    radius_cm: float
    fiducial_radius_cm: float
    medium: str
    density_g_cm3: float
    mass_t: float
    geometry: Any = None
    fiducial: Any = None
    origin_cm: np.ndarray | None = None
    rotation: np.ndarray | None = None
    medium_spec: Any = None  # mesonportal.experiments.media.Medium (with this density)
    technology: str = "cherenkov-oil"
    topologies: tuple[str, ...] = ("single-shower",)
    bound_nucleons: bool = False
    dirt: Dirt | None = None
    #: response parameters of the technology (e.g. a LArTPCResponse), None for the defaults
    response: Any = None

    @property
    def composition(self) -> list[tuple[str, int, float, float]]:
        """(element, Z, A_r, mass fraction) of the medium."""
        return [(el.symbol, el.Z, el.A_r, w) for el, w in self.medium_spec.elements]

    def number_densities_cm3(self) -> dict[str, float]:
        """Atoms of each element per cm³ of the medium."""
        return self.medium_spec.number_densities_cm3()

    def scattering_centres(self):
        """Interaction targets of the medium (:func:`mesonportal.experiments.media.scattering_centres`)."""
        from mesonportal.experiments.media import scattering_centres

        return scattering_centres(self.medium_spec, self.bound_nucleons)

    def to_detector_coordinates(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) beam-coordinate points [cm] → detector coordinates [cm]."""
        return (np.asarray(points, float) - self.origin_cm) @ self.rotation

    @property
    def distance_cm(self) -> float:
        """Distance from the production target (beam origin) to the active-volume centre [cm]."""
        return float(np.linalg.norm(self.center_cm))

    @property
    def active_mass_t(self) -> float:
        """Active-volume mass [t] = volume × density."""
        return float(self.geometry.volume * self.density_g_cm3 / 1e6)


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

    beam_line: str = ""
    #: ``[source]``: a :class:`StoppedSource` (stopped-pion facility) or the high-energy beam line's
    #: schema ``HighEnergySourceSpec``; None = BNB-type (horn) source
    source: Any = None

    @property
    def source_type(self) -> str:
        """``"stopped"`` (decay-at-rest facility), ``"highenergy"`` (unfocused high-energy beam line)
        or ``"horn"`` (the horn-focused BNB type)."""
        if self.source is None:
            return "horn"
        return "stopped" if isinstance(self.source, StoppedSource) else str(getattr(self.source, "type", "highenergy"))

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self.beam.pot)

    def pot(self, mode: str) -> float:
        check_mode(self, mode)
        return self.beam.pot[mode]


def check_mode(exp: Experiment, mode: str) -> str:
    """``mode`` if the experiment has an exposure for it; ConfigError naming the file and key."""
    if mode not in exp.beam.pot:
        hint = f"{exp.source_path}: " if exp.source_path else ""
        raise ConfigError(
            f"{hint}unknown mode {mode!r} for experiment {exp.name!r} (no exposure key 'beam.pot.{mode}'); "
            f"allowed: {', '.join(exp.beam.pot)}"
        )
    return mode


def _shipped_dir():
    return resources.files("mesonportal.experiments")


def available_experiments() -> list[str]:
    """Names of the experiment configurations shipped with the package."""
    return sorted(p.name[:-5] for p in _shipped_dir().iterdir() if p.name.endswith(".toml"))


def load_experiment(name_or_path: str | Path) -> Experiment:
    """Load a shipped experiment by name (``"miniboone"``) or a user TOML file by path.

    A user file is always parsed and validated in full (:func:`parse_experiment`).  A shipped
    file whose SHA-256 matches a pre-validated specification
    (``experiments/prevalidated.json``, :func:`prevalidated_specs`: the schema's own result for that very text,
    checked by the tests) is built from that specification without importing pydantic; the
    objects are identical (tests/test_startup.py)."""
    text, origin, shipped = _read_source(name_or_path)
    if shipped:
        spec = prevalidated_spec(str(name_or_path), text)
        if spec is not None:
            return _build_checked(spec, origin)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from None
    return parse_experiment(raw, origin)


#: marker key of a schema model in an encoded specification (:func:`encode_spec`)
_SPEC_KEY = "__spec__"


def encode_spec(spec: Any) -> Any:
    """A validated schema object (:class:`~mesonportal.experiments.schema.ExperimentSpec` or a
    section) as plain Python literals: each model becomes a dict of all its fields (defaults
    filled in) with the model's name under ``"__spec__"``; dicts, lists, tuples, strings,
    numbers, booleans and None are kept as they are.  Used to write the pre-validated specs."""
    fields = getattr(type(spec), "model_fields", None)
    if fields is not None and not isinstance(spec, type):
        return {_SPEC_KEY: type(spec).__name__, **{k: encode_spec(getattr(spec, k)) for k in fields}}
    if isinstance(spec, dict):
        return {k: encode_spec(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return type(spec)(encode_spec(v) for v in spec)
    if spec is None or type(spec) in (str, int, float, bool):
        return spec
    raise TypeError(f"cannot encode {type(spec).__name__} in a pre-validated specification")


class _Section:
    """Read-only attribute view of one decoded section of a pre-validated specification."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"_Section({self.__dict__!r})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"pre-validated section is read-only ({name!r})")


def _decode(x: Any) -> Any:
    """Inverse of :func:`encode_spec` (models → :class:`_Section`; containers copied)."""
    if isinstance(x, dict):
        if _SPEC_KEY in x:
            return _Section({k: _decode(v) for k, v in x.items() if k != _SPEC_KEY})
        return {k: _decode(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_decode(v) for v in x)
    return x


def spec_needs_schema(spec: Any) -> bool:
    """Whether the experiment built from ``spec`` keeps a schema object (a high-energy
    ``[source]`` is stored as its schema model): such files are never pre-validated."""
    src = getattr(spec, "source", None)
    return src is not None and src.type != "stopped"


#: key of the pre-validated ``[detector.response]`` of a scintillator (its schema,
#: ``ScintillatorResponseSpec``, is applied while building: :func:`_build_detector`)
_RESPONSE_SPEC_KEY = "response_spec"


def prevalidated_entry(spec: Any, origin: str) -> Any:
    """The encoded pre-validated form of a validated ``ExperimentSpec`` (:func:`encode_spec`),
    with a scintillator's ``[detector.response]`` validated too (under ``detector.response_spec``)."""
    out = encode_spec(spec)
    if spec.detector.technology == "scintillator" and spec.detector.response is not None:
        from mesonportal.experiments.schema import ScintillatorResponseSpec

        out["detector"][_RESPONSE_SPEC_KEY] = encode_spec(
            _sub_spec(ScintillatorResponseSpec, spec.detector.response, origin, ("detector", "response")))
    return out


#: file of the pre-validated specifications of the shipped experiment files (generated by
#: ``benchmarks/update_prevalidated_experiments.py``; JSON: exact round trip of the floats)
PREVALIDATED_FILE = "prevalidated.json"
_PREVALIDATED: dict[str, Any] = {}


def prevalidated_specs() -> dict[str, Any]:
    """name -> {"sha256", "spec"}: the pre-validated specifications of the shipped experiment
    files (:data:`PREVALIDATED_FILE` next to them), read once per process."""
    if not _PREVALIDATED:
        import json

        doc = json.loads((_shipped_dir() / PREVALIDATED_FILE).read_text(encoding="utf-8"))
        _PREVALIDATED.update(doc["specs"])
    return _PREVALIDATED


def prevalidated_spec(name: str, text: str):
    """The pre-validated specification of the shipped file ``name`` if ``text`` (its contents)
    has the SHA-256 it was validated with, else None (then the file is validated in full)."""
    import hashlib

    entry = prevalidated_specs().get(name)
    if entry is None or hashlib.sha256(text.encode("utf-8")).hexdigest() != entry["sha256"]:
        return None
    return _decode(entry["spec"])


def _read_source(name_or_path: str | Path) -> tuple[str, str, bool]:
    """(text, origin for messages, whether it is a shipped file)."""
    s = str(name_or_path)
    shipped = available_experiments()
    if s in shipped:
        return (_shipped_dir() / f"{s}.toml").read_text(encoding="utf-8"), f"{s}.toml", True
    p = Path(s)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise UnknownExperimentError(f"experiment file {s!r} does not exist")
        try:
            return p.read_text(encoding="utf-8"), str(p), False
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{s}: cannot read: {exc}") from None
    raise UnknownExperimentError(
        f"unknown experiment {s!r}; allowed: {', '.join(shipped)} or a path to a TOML file"
    )


def parse_experiment(raw: dict[str, Any], origin: str = "<config>") -> Experiment:
    """Validate a parsed TOML document (:class:`~mesonportal.experiments.schema.ExperimentSpec`)
    and build the :class:`Experiment`; any problem raises ConfigError naming ``origin`` and the key."""
    from pydantic import ValidationError

    from mesonportal.experiments.schema import ExperimentSpec, first_error

    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: top level must be a table")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(first_error(exc, origin, raw)) from None
    return _build_checked(spec, origin)


def _build_checked(spec, origin: str) -> Experiment:
    try:
        return _build(spec, origin)
    except ParameterError as exc:  # geometry constructors
        raise ConfigError(f"{origin}: {exc}") from None


def _build(spec, origin: str) -> Experiment:
    b = spec.beam
    beam = Beam(particle=b.particle, momentum_mev=b.momentum_mev, spot_sigma_x_cm=b.spot_sigma_x_cm,
                spot_sigma_y_cm=b.spot_sigma_y_cm, divergence_sigma_x_rad=b.divergence_sigma_x_rad,
                divergence_sigma_y_rad=b.divergence_sigma_y_rad, pot=dict(b.pot))
    t = spec.target
    dims = {"length_cm": t.length_cm, "radius_cm": t.radius_cm, "density_g_cm3": t.density_g_cm3}
    horn = None
    if spec.horn is not None:
        h = spec.horn
        for m in beam.pot:
            if m not in h.current_ka:
                raise ConfigError(f"{origin}: missing key 'horn.current_ka.{m}' (mode {m!r} has an exposure in [beam.pot])")
        try:
            table = load_horn_table(h.geometry)
            tgt = load_target_table(h.geometry)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: key 'horn.geometry' = {h.geometry!r}: {exc}") from None
        # target dimensions default to the geometry's target table (a TOML value overrides it)
        for key in dims:
            if dims[key] is None:
                dims[key] = getattr(tgt, key)
        horn = Horn(current_ka=dict(h.current_ka), geometry=h.geometry, table=table, target_z_start_cm=tgt.z_start_cm,
                    target_shift_cm=h.target_shift_cm,
                    inner_conductor_absorption_length_cm=_inf(h.inner_conductor_absorption_length_cm),
                    cavity=_cavity(h.cavity, origin), conductor_mass_number=h.conductor_mass_number,
                    conductor_density_g_cm3=h.conductor_density_g_cm3)
        check_target_in_horn(table, tgt.z_start_cm + horn.target_shift_cm, dims["length_cm"], dims["radius_cm"],
                             f"{origin}: [target] with horn.geometry = {h.geometry!r} and "
                             f"horn.target_shift_cm = {horn.target_shift_cm:g}")
    for key, v in dims.items():
        if v is None:
            raise ConfigError(f"{origin}: missing key 'target.{key}' (required without a [horn] geometry)")
    if t.sigma_qel_mb >= t.sigma_inel_mb:
        raise ConfigError(f"{origin}: key 'target.sigma_qel_mb' = {t.sigma_qel_mb:g} must be below "
                          f"target.sigma_inel_mb = {t.sigma_inel_mb:g}")
    target = Target(material=t.material, atomic_number=t.atomic_number, mass_number=t.mass_number,
                    length_cm=dims["length_cm"], radius_cm=dims["radius_cm"], density_g_cm3=dims["density_g_cm3"],
                    sigma_inel_mb=t.sigma_inel_mb, sigma_qel_mb=t.sigma_qel_mb,
                    absorption_length_cm=_inf(t.absorption_length_cm), tertiary_production=t.tertiary_production,
                    tertiary_min_momentum_mev=t.tertiary_min_momentum_mev,
                    tertiary_sample_fraction=t.tertiary_sample_fraction, tertiary_in_horn=t.tertiary_in_horn,
                    tertiary_model=t.tertiary_model, tertiary_table_max_momentum_mev=t.tertiary_table_max_momentum_mev,
                    pi_minus_parametrisation=t.pi_minus_parametrisation)
    if target.tertiary_in_horn:
        if not target.tertiary_production:
            raise ConfigError(f"{origin}: key 'target.tertiary_in_horn' = true needs target.tertiary_production = true")
        if horn is None or horn.conductor_mass_number is None or horn.conductor_density_g_cm3 is None \
                or not math.isfinite(horn.inner_conductor_absorption_length_cm):
            raise ConfigError(f"{origin}: key 'target.tertiary_in_horn' = true needs [horn] with conductor_mass_number, "
                              "conductor_density_g_cm3 and inner_conductor_absorption_length_cm")
    dr = None
    if spec.decay_region is not None:
        d = spec.decay_region
        apertures, z_start = None, d.z_start_cm
        if d.geometry is not None:
            if d.z_start_cm is not None or d.collimator_radius_cm is not None:
                raise ConfigError(f"{origin}: key 'decay_region.geometry' replaces decay_region.z_start_cm and "
                                  "decay_region.collimator_radius_cm: give either the geometry or both keys")
            if horn is None or horn.cavity is None:
                raise ConfigError(f"{origin}: key 'decay_region.geometry' needs [horn] with horn.cavity "
                                  "(the apertures start at the cavity's downstream face)")
            try:
                ctab = load_collimator_table(d.geometry)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: key 'decay_region.geometry' = {d.geometry!r}: {exc}") from None
            apertures = ctab.rows
            if abs(apertures[0][0] - horn.cavity[4]) > 0.01:
                raise ConfigError(f"{origin}: {ctab.source}: first aperture z_start_cm = {apertures[0][0]:g} must "
                                  f"equal horn.cavity z_max_cm = {horn.cavity[4]:g}")
            if apertures[0][0] <= horn.table.conductor_z_range[1]:
                raise ConfigError(f"{origin}: {ctab.source}: first aperture z_start_cm = {apertures[0][0]:g} must lie "
                                  f"downstream of the horn conductor's end z = {horn.table.conductor_z_range[1]:g} cm")
            z_start = apertures[-1][1] + horn.z_offset_cm  # pipe start, target coordinates
        elif d.z_start_cm is None:
            raise ConfigError(f"{origin}: missing key 'decay_region.z_start_cm' (or decay_region.geometry)")
        dr = DecayRegion(z_start_cm=z_start, pipe_radius_cm=d.pipe_radius_cm, absorber_z_cm=d.absorber_z_cm,
                         collimator_radius_cm=_inf(d.collimator_radius_cm),
                         absorption_length_cm=_inf(d.absorption_length_cm), geometry=d.geometry,
                         apertures=apertures)
        if dr.absorber_z_cm <= dr.z_start_cm:
            raise ConfigError(f"{origin}: key 'decay_region.absorber_z_cm' must exceed decay_region.z_start_cm")
    dump = None
    if spec.dump is not None:
        d = spec.dump
        dump = Dump(absorber_z_cm=d.absorber_z_cm, absorber_material=d.absorber_material, mass_number=d.mass_number,
                    density_g_cm3=d.density_g_cm3, sigma_inel_mb=d.sigma_inel_mb,
                    absorption_length_cm=d.absorption_length_cm,
                    pion_interaction_length_cm=d.pion_interaction_length_cm,
                    kaon_interaction_length_cm=d.kaon_interaction_length_cm,
                    kplus_charge_exchange_fraction=d.kplus_charge_exchange_fraction)
    src = None
    if spec.source is not None:
        if spec.source.type == "stopped":
            src = _build_stopped(spec, beam, origin)
        else:
            _check_he_source(spec, beam, target, dr, origin)
            src = spec.source
    det = _build_detector(spec.detector, origin)
    if dr is not None:
        _check_outside_pipe(det, dr, origin)
    e = spec.experiment
    return Experiment(name=e.name, description=e.description, beam=beam, target=target, horn=horn,
                      decay_region=dr, dump=dump, detector=det, source_path=origin,
                      beam_line=spec.beam.line or "", source=src)


def _kinetic_energy_mev(beam: Beam) -> float:
    from mesonportal.constants import mass

    m = mass(2212)
    return math.hypot(beam.momentum_mev, m) - m


def meson_threshold_kinetic_mev(pdg: int) -> float:
    """Kinetic energy [MeV] of a proton on a free nucleon at rest at the threshold of
    N N → N N + meson (PDG masses from ``particle``): T = m (4 m_N + m) / (2 m_N)."""
    from mesonportal.constants import mass

    m_n, m = mass(2212), mass(pdg)
    return m * (4.0 * m_n + m) / (2.0 * m_n)


def _build_stopped(spec, beam: Beam, origin: str) -> StoppedSource:
    """The :class:`StoppedSource` of ``[source]``; a beam below the production threshold of a
    meson with a non-zero yield is a ConfigError (free-nucleon threshold: subthreshold production
    on nuclei through Fermi motion is neglected — give a zero yield to accept it)."""
    s = spec.source
    if spec.horn is not None or spec.decay_region is not None:
        raise ConfigError(f"{origin}: a [source] of type 'stopped' takes no [horn] or [decay_region]")
    t = _kinetic_energy_mev(beam)
    for key, pdg in (("pi_plus_dar_per_pot", 211), ("pi0_per_pot", 111), ("pi_minus_per_pot", -211),
                     ("eta_per_pot", 221)):
        thr = meson_threshold_kinetic_mev(pdg)
        if getattr(s, key) > 0.0 and t < thr:
            raise ConfigError(f"{origin}: key 'source.{key}' = {getattr(s, key)} but the beam kinetic energy "
                              f"{t:.0f} MeV is below the N N -> N N {'eta' if pdg == 221 else 'pi'} threshold "
                              f"{thr:.0f} MeV; set it to 0")
    return StoppedSource(pi_plus_dar_per_pot=s.pi_plus_dar_per_pot, pi_plus_dif_fraction=s.pi_plus_dif_fraction,
                         pi_minus_per_pot=s.pi_minus_per_pot, pi_minus_decay_fraction=s.pi_minus_decay_fraction,
                         pi0_per_pot=s.pi0_per_pot, eta_per_pot=s.eta_per_pot,
                         pi0_temperature_mev=s.pi0_temperature_mev, pi0_source_beta=s.pi0_source_beta,
                         dif_mean_kinetic_mev=s.dif_mean_kinetic_mev, vertex_sigma_cm=s.vertex_sigma_cm,
                         position_cm=tuple(float(v) for v in s.position_cm))


def _check_he_source(spec, beam, target, dr, origin: str) -> None:
    """Consistency of a ``[source] type = "highenergy"`` section (errors name the key)."""
    from mesonportal.sources import production_he as he

    src = spec.source
    if dr is None:
        raise ConfigError(f"{origin}: missing section [decay_region] (needed by [source] type = 'highenergy')")
    if src.focus_p_max_mev < src.focus_p_min_mev:
        raise ConfigError(f"{origin}: key 'source.focus_p_max_mev' must be >= source.focus_p_min_mev")
    if "dump" in beam.pot:
        raise ConfigError(f"{origin}: key 'beam.pot.dump': mode 'dump' is not modelled for a high-energy source")
    if src.generator == "pythia8":
        he.check_pythia_target(target.atomic_number, target.mass_number, beam.particle, origin)
    he.check_threshold(beam.momentum_mev, (211, -211, 111), origin)


def _inf(v: float | None) -> float:
    return math.inf if v is None else float(v)


def _shape(s, where: str, origin_cm: np.ndarray, rot: np.ndarray, file: str):
    """Shape object (beam coordinates) of a :class:`~mesonportal.experiments.schema.ShapeSpec`."""
    from mesonportal.experiments.keys import SHAPE_KEYS
    from mesonportal.geometry import Box, Cylinder, Sphere, Union

    if s.shape not in SHAPE_KEYS:
        raise ConfigError(f"{file}: key '{where}.shape' = {s.shape!r}; allowed: {', '.join(SHAPE_KEYS)}")
    need, opt = SHAPE_KEYS[s.shape]
    given = {k for k in ("radius_cm", "offset_cm", "lo_cm", "hi_cm", "length_cm", "axis", "modules")
             if getattr(s, k) is not None}
    for k in sorted(need - given):
        raise ConfigError(f"{file}: missing key '{where}.{k}' (needed for shape {s.shape!r})")
    for k in sorted(given - need - opt):
        raise ConfigError(f"{file}: key '{where}.{k}' does not apply to shape {s.shape!r}")
    off = np.zeros(3) if s.offset_cm is None else np.array(s.offset_cm, float)
    if s.shape == "sphere":
        return Sphere(origin_cm + rot @ off, s.radius_cm)
    if s.shape == "box":
        lo, hi = np.array(s.lo_cm, float), np.array(s.hi_cm, float)
        if np.any(hi <= lo):
            raise ConfigError(f"{file}: key '{where}.hi_cm' must exceed '{where}.lo_cm' on every axis")
        return Box.from_corners(lo, hi, origin_cm, rot)
    if s.shape == "cylinder":
        perm = {"x": [1, 2, 0], "y": [2, 0, 1], "z": [0, 1, 2]}[s.axis or "z"]
        return Cylinder(origin_cm + rot @ off, s.radius_cm, 0.5 * s.length_cm, rot[:, perm])
    boxes = []
    for i, m in enumerate(s.modules):
        lo, hi = np.array(m.lo_cm, float), np.array(m.hi_cm, float)
        if np.any(hi <= lo):
            raise ConfigError(f"{file}: key '{where}.modules.{i}.hi_cm' must exceed lo_cm on every axis")
        boxes.append(Box.from_corners(lo, hi, origin_cm, rot))
    try:
        return Union(tuple(boxes))
    except ParameterError as exc:
        raise ConfigError(f"{file}: key '{where}.modules': {exc}") from None


def _inside(inner, outer) -> bool:
    """Whether shape ``inner`` lies inside ``outer`` (checked on the corners of boxes, on the
    bounding sphere's extreme points otherwise)."""
    from mesonportal.geometry import Box, Sphere, Union

    if isinstance(inner, Sphere) and isinstance(outer, Sphere):
        return float(np.linalg.norm(inner.center - outer.center)) + inner.radius <= outer.radius * (1 + 1e-12)
    if isinstance(inner, Box):
        pts = inner.corners()
    elif isinstance(inner, Union):
        pts = np.concatenate([p.corners() for p in inner.parts])
    else:
        c, r = inner.bounding_sphere
        pts = c + r * np.vstack([np.eye(3), -np.eye(3)])
        return bool(np.all(outer.contains(pts)))
    shrink = inner.bounding_sphere[0] + (pts - inner.bounding_sphere[0]) * (1 - 1e-9)
    return bool(np.all(outer.contains(shrink)))


def _sub_spec(spec_cls, data: Any, origin: str, prefix: tuple[str, ...]):
    """Validate the sub-table ``data`` (a dict) with the pydantic model ``spec_cls``; a one-line
    ConfigError naming the dotted key (``prefix`` + the key inside the table) otherwise."""
    from pydantic import ValidationError

    try:
        return spec_cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(str(x) for x in prefix + tuple(err.get("loc", ())))
        typ = err.get("type", "")
        if typ == "missing":
            raise ConfigError(f"{origin}: missing key '{key}'") from None
        if typ == "extra_forbidden":
            raise ConfigError(f"{origin}: unknown key '{key}'; allowed: {', '.join(spec_cls.model_fields)}") from None
        raise ConfigError(f"{origin}: key '{key}' = {err.get('input')!r}: {err.get('msg', 'invalid value')}") from None


def _build_detector(d, origin: str) -> Detector:
    from mesonportal.experiments.media import get_medium
    from mesonportal.geometry import Sphere, rotation_matrix

    if d.shape not in SHAPES:
        raise ConfigError(f"{origin}: key 'detector.shape' = {d.shape!r}; allowed: {', '.join(SHAPES)}")
    if d.technology not in TECHNOLOGIES:
        raise ConfigError(f"{origin}: key 'detector.technology' = {d.technology!r}; allowed: {', '.join(TECHNOLOGIES)}")
    allowed_top = TECHNOLOGIES[d.technology]["topologies"]
    tops = tuple(d.topologies) if d.topologies is not None else allowed_top
    for tp in tops:
        if tp not in allowed_top:
            raise ConfigError(f"{origin}: key 'detector.topologies' has {tp!r}, unknown for technology "
                              f"{d.technology!r}; allowed: {', '.join(allowed_top)}")
    medium = get_medium(d.medium, origin, "detector.medium")
    if d.density_g_cm3 is not None:
        medium = medium.with_density(d.density_g_cm3)
    origin_cm = np.array(d.center_cm, float)
    rot = rotation_matrix(d.rotation_deg)
    geom = _shape(d, "detector", origin_cm, rot, origin)
    if d.fiducial_radius_cm is not None and d.fiducial is not None:
        raise ConfigError(f"{origin}: give either 'detector.fiducial_radius_cm' or [detector.fiducial], not both")
    if d.fiducial_radius_cm is not None:
        if d.shape != "sphere":
            raise ConfigError(f"{origin}: key 'detector.fiducial_radius_cm' applies to shape 'sphere' only; "
                              "use [detector.fiducial]")
        if d.fiducial_radius_cm > d.radius_cm:
            raise ConfigError(f"{origin}: key 'detector.fiducial_radius_cm' must not exceed detector.radius_cm")
        fid = Sphere(geom.center, d.fiducial_radius_cm) if d.fiducial_radius_cm > 0 else None
    elif d.fiducial is not None:
        fid = _shape(d.fiducial, "detector.fiducial", origin_cm, rot, origin)
        if not _inside(fid, geom):
            raise ConfigError(f"{origin}: key 'detector.fiducial' must lie inside the active volume")
    else:
        fid = geom
    dirt = None
    if d.dirt is not None:
        dgeom = _shape(d.dirt, "detector.dirt", origin_cm, rot, origin)
        dmed = get_medium(d.dirt.medium, origin, "detector.dirt.medium")
        if d.dirt.density_g_cm3 is not None:
            dmed = dmed.with_density(d.dirt.density_g_cm3)
        c, r = geom.bounding_sphere
        if np.any(dgeom.contains(c[None, :])):
            raise ConfigError(f"{origin}: key 'detector.dirt' must lie outside the detector (it contains its centre)")
        dirt = Dirt(dgeom, dmed)
    response = None
    if d.technology == "scintillator":
        from mesonportal.responses.scintillator import ScintillatorResponse

        if d.response is None:
            raise ConfigError(f"{origin}: missing section [detector.response] (needed for technology 'scintillator')")
        try:
            rs = getattr(d, _RESPONSE_SPEC_KEY, None)  # pre-validated (prevalidated_entry)
            if rs is None:
                from mesonportal.experiments.schema import ScintillatorResponseSpec

                rs = _sub_spec(ScintillatorResponseSpec, d.response, origin, ("detector", "response"))
            response = ScintillatorResponse.from_spec(rs)
        except ParameterError as exc:
            raise ConfigError(f"{origin}: {exc}") from None
    elif d.response is not None:
        if d.technology != "lartpc":
            raise ConfigError(f"{origin}: key 'detector.response' is not configurable for technology {d.technology!r}")
        from mesonportal.responses.lartpc import LArTPCResponse

        response = LArTPCResponse.from_mapping(d.response, f"{origin}: detector.response")
    c, r = geom.bounding_sphere
    fid_r = d.fiducial_radius_cm if d.fiducial_radius_cm is not None else (fid.bounding_sphere[1] if fid is not None else 0.0)
    return Detector(shape=d.shape, center_cm=np.asarray(c, float), radius_cm=float(r), fiducial_radius_cm=float(fid_r),
                    medium=d.medium, density_g_cm3=medium.density_g_cm3, mass_t=d.mass_t, geometry=geom,
                    fiducial=fid, origin_cm=origin_cm, rotation=rot, medium_spec=medium, technology=d.technology,
                    topologies=tops, bound_nucleons=d.bound_nucleons, dirt=dirt, response=response)


def _check_outside_pipe(det: Detector, dr: DecayRegion, origin: str) -> None:
    """A detector overlapping the decay pipe (cylinder r < pipe radius, 0 < z < absorber) is a
    configuration error (checked with the active volume's bounding sphere)."""
    c, r = det.center_cm, det.radius_cm
    rho = math.hypot(c[0], c[1])
    if rho - r < dr.pipe_radius_cm and c[2] - r < dr.absorber_z_cm and c[2] + r > 0.0:
        raise ConfigError(f"{origin}: key 'detector.center_cm' places the detector inside the decay pipe "
                          f"(r < {dr.pipe_radius_cm} cm, z < {dr.absorber_z_cm} cm)")
