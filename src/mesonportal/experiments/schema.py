"""Pydantic schema of an experiment TOML (validation only; the frozen dataclasses the pipeline
uses are built from it in :mod:`mesonportal.experiments.config`).

Every model forbids unknown keys and checks types strictly (a bool or a string is not a number)
and ranges (finite, within the stated bounds).  :func:`first_error` turns a pydantic
``ValidationError`` into the package's one-line message naming the file and the dotted key.
Units are in the key names (MeV, cm, rad, deg, g/cm³, mb, t).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mesonportal.experiments.keys import MODES, SHAPE_KEYS, SHAPES, SOURCE_TYPES  # noqa: F401  (re-exported)

__all__ = ["MODES", "SHAPES", "ExperimentSpec", "HighEnergySourceSpec", "StoppedSourceSpec", "first_error"]


def R(lo: float | None = None, hi: float | None = None, gt: float | None = None):
    """A finite real number within [lo, hi] (or > gt)."""
    return Annotated[float, Field(ge=lo, le=hi, gt=gt, allow_inf_nan=False)]


Vec3 = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=3, max_length=3)]
NonEmpty = Annotated[str, Field(min_length=1)]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _check_modes(v: dict[str, float]) -> dict[str, float]:
    if not v:
        raise ValueError(f"must be a table of mode = number ({', '.join(MODES)})")
    for m in v:
        if m not in MODES:
            raise ValueError(f"'{m}' is not a mode; allowed: {', '.join(MODES)}")
    return v


class ExperimentInfo(_M):
    name: NonEmpty
    description: str = ""


class BeamSpec(_M):
    particle: NonEmpty
    momentum_mev: R(1.0, 1e8)
    spot_sigma_x_cm: R(0.0, 100.0) = 0.0
    spot_sigma_y_cm: R(0.0, 100.0) = 0.0
    divergence_sigma_x_rad: R(0.0, 1.0) = 0.0
    divergence_sigma_y_rad: R(0.0, 1.0) = 0.0
    #: exposure per beam mode [protons on target]
    pot: dict[str, R(0.0, 1e30)]
    #: name of the beam line (the meson cache is shared by experiments on the same beam)
    line: NonEmpty | None = None

    _modes = field_validator("pot")(classmethod(lambda cls, v: _check_modes(v)))


class TargetSpec(_M):
    material: NonEmpty
    atomic_number: R(1, 120)
    mass_number: R(1, 300)
    # length, radius and density default to the horn geometry's target table (horn.geometry)
    length_cm: R(1e-6, 1e5) | None = None
    radius_cm: R(1e-6, 1e4) | None = None
    density_g_cm3: R(1e-6, 100.0) | None = None
    sigma_inel_mb: R(1e-3, 1e5)
    sigma_qel_mb: R(0.0, 1e5) = 0.0
    absorption_length_cm: R(1e-3, 1e9) | None = None
    # tertiary production by secondary hadrons re-interacting in the target (sources/tertiary.py)
    tertiary_production: bool = False
    tertiary_min_momentum_mev: R(0.0, 1e6) = 1000.0
    tertiary_sample_fraction: R(0.01, 10.0) = 0.3
    # tertiaries made by the same parents in the horn aluminium after leaving the target (sources/tertiary.py)
    tertiary_in_horn: bool = False
    # tertiary yields below tertiary_table_max_momentum_mev: "urqmd_table" (bundled UrQMD 3.4 hadron-Be table,
    # sources/lowenergy.py) or "sw_extrapolated" (p-Be Sanford-Wang/Feynman-scaling fits at the parent momentum)
    tertiary_model: Literal["urqmd_table", "sw_extrapolated"] = "sw_extrapolated"
    tertiary_table_max_momentum_mev: R(0.0, 1e6) = 6400.0
    # pi- Sanford-Wang set (sources/spectra.py PI_MINUS_SETS)
    pi_minus_parametrisation: Literal["table_vi", "april07_baseline"] = "table_vi"


class HornSpec(_M):
    # a bundled geometry name ("bnb_official") or a directory holding horn.txt and target.txt
    # (mesonportal.experiments.bnb_geometry)
    geometry: NonEmpty
    current_ka: dict[str, R(-1e4, 1e4)]
    target_shift_cm: R(-1e4, 1e4) = 0.0
    inner_conductor_absorption_length_cm: R(1e-3, 1e9) | None = None
    # conductor nucleus and density (needed by target.tertiary_in_horn): A and g/cm^3
    conductor_mass_number: R(1.0, 300.0) | None = None
    conductor_density_g_cm3: R(1e-3, 100.0) | None = None
    # air cavity around the horn (horn coordinates, cm): x_half_width_cm, y_min_cm, y_max_cm, z_min_cm, z_max_cm
    cavity: dict[str, R(-1e5, 1e5)] | None = None

    _modes = field_validator("current_ka")(classmethod(lambda cls, v: _check_modes(v)))


class DecayRegionSpec(_M):
    # z_start_cm + collimator_radius_cm (cylindrical collimator approximation), or geometry = a bundled name
    # ("bnb_official") / directory holding collimator.txt (conical apertures after the horn cavity)
    z_start_cm: R(-1e6, 1e7) | None = None
    geometry: NonEmpty | None = None
    pipe_radius_cm: R(1e-3, 1e5)
    absorber_z_cm: R(0.0, 1e7)
    collimator_radius_cm: R(1e-3, 1e5) | None = None
    absorption_length_cm: R(1e-3, 1e12) | None = None


class DumpSpec(_M):
    absorber_z_cm: R(0.0, 1e7)
    absorber_material: NonEmpty = "Fe"
    mass_number: R(1, 300) = 55.845
    density_g_cm3: R(1e-6, 100.0) = 7.874
    sigma_inel_mb: R(1e-3, 1e5) = 702.0
    absorption_length_cm: R(1e-3, 1e9) = 16.77
    # charged-meson fates in steel (sources/fates.py): dump mode and target-mode path ends
    pion_interaction_length_cm: R(1e-3, 1e6) = 20.42
    kaon_interaction_length_cm: R(1e-3, 1e6) = 20.42
    kplus_charge_exchange_fraction: R(0.0, 1.0) = 0.2


class HighEnergySourceSpec(_M):
    """``[source] type = "highenergy"``: unfocused-production generator + acceptance-and-focusing
    model of a high-energy beam line (:mod:`mesonportal.sources.highenergy`).  Momenta in MeV,
    angles in mrad."""

    type: Literal["highenergy"]
    #: meson generator: Pythia 8 (NN collisions scaled by A^alpha) or the BMPT parametrisation
    generator: Literal["pythia8", "bmpt"] = "pythia8"
    pythia_events: Annotated[int, Field(ge=100, le=10_000_000)] = 20_000
    pythia_seed: Annotated[int, Field(ge=0, le=2**31)] = 1
    focus_p_min_mev: R(0.0, 1e7) = 0.0
    focus_p_max_mev: R(0.0, 1e7) = 0.0
    focus_theta_max_mrad: R(0.0, 1600.0) = 0.0
    focus_efficiency: R(0.0, 1.0) = 0.0
    focus_residual_mrad: R(0.0, 1000.0) = 0.0
    #: overall normalisation of the meson source, fixed by comparing the nu_mu flux with a
    #: published flux (covers tertiary production and focusing not in the model); 1 = none
    flux_normalisation: R(0.0, 10.0) = 1.0


class ModuleSpec(_M):
    """One box of a union, corners in detector coordinates [cm]."""

    lo_cm: Vec3
    hi_cm: Vec3


class ShapeSpec(_M):
    """A volume in detector coordinates [cm].  Keys per ``shape``:
    sphere: ``radius_cm`` (centre at the detector origin + ``offset_cm``);
    box: ``lo_cm``, ``hi_cm`` corners;
    cylinder: ``radius_cm``, ``length_cm``, ``axis`` (x, y or z), centre ``offset_cm``;
    union: ``modules`` (list of {lo_cm, hi_cm})."""

    shape: NonEmpty
    radius_cm: R(1e-3, 1e6) | None = None
    offset_cm: Vec3 | None = None
    lo_cm: Vec3 | None = None
    hi_cm: Vec3 | None = None
    length_cm: R(1e-3, 1e7) | None = None
    axis: Literal["x", "y", "z"] | None = None
    modules: Annotated[list[ModuleSpec], Field(min_length=1)] | None = None


class DirtSpec(ShapeSpec):
    """Upstream material around the detector (detector coordinates), with its medium."""

    medium: NonEmpty = "dirt"
    density_g_cm3: R(1e-6, 100.0) | None = None


class ScintillatorResponseSpec(_M):
    """``[detector.response]`` of a scintillator detector (:mod:`mesonportal.responses.scintillator`):
    visible-energy threshold and analysis window [MeV], resolution σ_E/E = a/√(E/MeV) ⊕ b and a
    flat selection efficiency."""

    threshold_mev: R(0.0, 1e4)
    window_lo_mev: R(0.0, 1e4)
    window_hi_mev: R(0.0, 1e4)
    resolution_stochastic: R(0.0, 10.0) = 0.0
    resolution_constant: R(0.0, 1.0) = 0.0
    efficiency: R(0.0, 1.0) = 1.0


class DetectorSpec(ShapeSpec):
    """Active volume (the shape keys of :class:`ShapeSpec`), frame and medium.

    ``center_cm``: position of the detector-coordinate origin in beam coordinates (for a sphere
    its centre); ``rotation_deg``: orientation of the detector axes (rotations about beam x, y,
    z in that order).  ``fiducial_radius_cm`` (sphere only) or a ``[detector.fiducial]`` shape."""

    center_cm: Vec3
    rotation_deg: Vec3 = [0.0, 0.0, 0.0]
    fiducial_radius_cm: R(0.0, 1e6) | None = None
    fiducial: ShapeSpec | None = None
    medium: NonEmpty
    density_g_cm3: R(1e-6, 100.0) | None = None
    mass_t: R(0.0, 1e9) = 0.0
    technology: NonEmpty = "cherenkov-oil"
    topologies: list[NonEmpty] | None = None
    bound_nucleons: bool = False
    dirt: DirtSpec | None = None
    #: response parameters of the technology (validated by its response module, e.g.
    #: :meth:`mesonportal.responses.lartpc.LArTPCResponse.from_mapping`)
    response: dict[str, Any] | None = None


class StoppedSourceSpec(_M):
    """``[source]`` of a stopped-pion (decay-at-rest) facility, ``type = "stopped"``.

    Yields are per proton on target with their sources in the TOML; the π⁰/η in-flight spectrum
    is the isotropic moving-source (Maxwell–Boltzmann) parametrisation of
    :mod:`mesonportal.sources.stopped` with temperature ``pi0_temperature_mev`` in a frame moving
    along the beam with velocity ``pi0_source_beta``.  Units in the key names (MeV, cm)."""

    type: Literal["stopped"]
    #: π⁺ that stop and decay at rest per POT (= ν_μ, ν̄_μ and ν_e per POT from the DAR chain)
    pi_plus_dar_per_pot: R(0.0, 10.0)
    #: π⁺ decaying in flight, as a fraction of the stopped ones
    pi_plus_dif_fraction: R(0.0, 1.0) = 0.0
    #: π⁻ per POT (captured on nuclei, no decay; bookkeeping only)
    pi_minus_per_pot: R(0.0, 10.0) = 0.0
    #: fraction of π⁻ that decay (in flight or at rest) before capture (μ⁻ → ν̄_e contamination)
    pi_minus_decay_fraction: R(0.0, 1.0) = 0.0
    pi0_per_pot: R(0.0, 10.0) = 0.0
    eta_per_pot: R(0.0, 10.0) = 0.0
    pi0_temperature_mev: R(1.0, 1000.0) = 60.0
    pi0_source_beta: R(0.0, 0.99) = 0.0
    #: mean kinetic energy of the decay-in-flight π⁺ [MeV] (exponential spectrum)
    dif_mean_kinetic_mev: R(1.0, 5000.0) = 100.0
    #: Gaussian spread of the decay points about the target centre [cm]
    vertex_sigma_cm: R(0.0, 1000.0) = 0.0
    #: position of the source (beam coordinates) [cm]
    position_cm: Vec3 = [0.0, 0.0, 0.0]


class ExperimentSpec(_M):
    experiment: ExperimentInfo
    beam: BeamSpec
    target: TargetSpec
    #: ``[source]``: absent for the horn-focused BNB type; ``type = "highenergy"`` or ``"stopped"``
    source: Annotated[HighEnergySourceSpec | StoppedSourceSpec, Field(discriminator="type")] | None = None
    horn: HornSpec | None = None
    decay_region: DecayRegionSpec | None = None
    dump: DumpSpec | None = None
    detector: DetectorSpec


def _key(loc: tuple) -> str:
    return ".".join(str(x) for x in loc)


def first_error(exc: ValidationError, origin: str, raw: Any = None) -> str:
    """One line ``<origin>: <message naming the key>`` for the first error of ``exc``."""
    err = exc.errors(include_url=False)[0]
    loc = tuple(err.get("loc", ()))
    typ = err.get("type", "")
    if len(loc) >= 2 and loc[0] == "source" and loc[1] in SOURCE_TYPES:  # drop the union tag from the key
        loc = (loc[0],) + loc[2:]
    if typ in ("union_tag_invalid", "union_tag_not_found"):
        return f"{origin}: key 'source.type' must be one of {', '.join(SOURCE_TYPES)}"
    key = _key(loc)
    inp = err.get("input")
    if typ == "missing":
        return f"{origin}: missing section [{key}]" if len(loc) == 1 else f"{origin}: missing key '{key}'"
    if typ == "extra_forbidden":
        return (f"{origin}: unknown section [{key}]; allowed: {', '.join(ExperimentSpec.model_fields)}"
                if len(loc) == 1 else f"{origin}: unknown key '{key}'")
    if typ in ("model_type", "model_attributes_type", "dict_type") and len(loc) >= 1:
        what = "[" + key + "]" if len(loc) == 1 else f"key '{key}'"
        return f"{origin}: {what} must be a table"
    if typ in ("float_type", "float_parsing", "int_type", "int_from_float"):
        return f"{origin}: key '{key}' must be a number, got {type(inp).__name__}"
    if typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than", "finite_number"):
        return f"{origin}: key '{key}' = {inp!r} out of range ({err.get('msg', '')})"
    if typ in ("string_type", "string_too_short"):
        return f"{origin}: key '{key}' must be a non-empty string"
    if typ in ("list_type", "too_short", "too_long", "tuple_type"):
        return f"{origin}: key '{key}' has the wrong length or type ({err.get('msg', '')})"
    if typ == "value_error":
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        if "is not a mode" in msg:
            mode = msg.split("'")[1]
            return f"{origin}: key '{key}.{mode}' is not a mode; allowed: {', '.join(MODES)}"
        return f"{origin}: key '{key}' {msg}"
    return f"{origin}: key '{key}': {err.get('msg', 'invalid value')}"
