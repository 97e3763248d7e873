"""R_K, R_K* and BR(B_s → μμ) of the talk's U(1)_T3R flavour benchmarks BMA–BMD, via flavio
(D. Straub, arXiv:1810.08132; PyPI ``flavio``) — docs/t3r.md §6.

**Reading of the labels** (the talk's table, from Dutta, Ghosh, Huang, Kumar arXiv:2105.07655,
whose UV completion couples the new states to *right-handed* muons, so that the lepton current
is μ̄γ^μ P_R μ = ½(μ̄γ^μμ + μ̄γ^μγ⁵μ) ⇒ ΔC9 = ΔC10):

* ``C10^U``  — lepton-flavour *universal* shift of C10: ΔC10^{bsee} = ΔC10^{bsμμ} = value;
* ``C9,10^NU`` — *non-universal* (muon-only) RH-lepton shift: ΔC9^{bsμμ} = ΔC10^{bsμμ} = value;
* ``C9,10^pNU`` — the same for the *primed* (right-handed quark current) operators:
  ΔC9′^{bsμμ} = ΔC10′^{bsμμ} = value;
* ``|C_S − C_S′|``, ``|C_P − C_P′|`` [GeV⁻¹] — put into flavio's C_S^{bsμμ} (resp. C_P^{bsμμ})
  with C_S′ = C_P′ = 0 and a positive sign (the talk gives only the modulus of the difference,
  which is what B_s → μμ depends on).  flavio's B_s → μμ amplitude contains
  m_Bs m_b/(m_b + m_s) (C_S − C_S′) with masses in GeV (flavio/physics/bdecays/bll.py), i.e. its
  C_S, C_P are the GeV⁻¹-valued coefficients of the talk.

All in flavio's WET basis ("flavio" basis of WCxf) at the scale μ_b = 4.8 GeV.

**Pull from the SM**: pull = sign · √(2 (ln L_BM − ln L_SM)) (sign + if the benchmark fits
better) from flavio's experimental likelihood of the three observables (theory uncertainties
neglected, central SM parameters), with one of two measurement sets from flavio's database:
``"2021"`` (the talk's era: LHCb R_K 2021, LHCb R_K* 2017, Altmannshofer–Stangl 2021 B_s → μμ
combination) or ``"2022"`` (LHCb R_K/R_K* 2022, arXiv:2212.09152; Greljo et al. 2022 B_s → μμ
combination).

flavio reads particle data from the ``particle`` package's 2022 table, which particle ≥ 1.0 no
longer ships; :func:`import_flavio` then points flavio at the newest table ``particle`` has
(B-meson masses/lifetimes of that PDG edition; the package's own PDG values are unaffected).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from mesonportal.exceptions import MesonportalError, UnknownModelError

__all__ = ["BENCHMARKS", "wilson_coefficients", "rk_benchmark", "import_flavio", "OBSERVABLES", "DATASETS",
           "sm_predictions"]

#: The talk's benchmark Wilson-coefficient sets (C_S, C_P in GeV⁻¹).
BENCHMARKS: dict[str, dict[str, float]] = {
    "BMA": {"C10_U": 4.85, "C910_NU": -0.30, "CS": 0.033},
    "BMB": {"C10_U": -5.86, "C910_NU": 3.65, "CS": 0.024, "CP": 0.030},
    "BMC": {"C10_U": 2.7, "C910_NU": -0.8, "CS": 0.011, "CP": 0.043},
    "BMD": {"C10_U": -5.67, "C910_NU": 4.55, "C910_pNU": -1.28},
}

OBSERVABLES = {
    "r_k": ("<Rmue>(B+->Kll)", 1.1, 6.0),
    "r_kstar": ("<Rmue>(B0->K*ll)", 1.1, 6.0),
    "br_bs_mumu": ("BR(Bs->mumu)",),
}

DATASETS: dict[str, list[str]] = {
    "2021": ["LHCb RK 2021", "LHCb RK* 2017", "AS combination Bs->mumu 2021"],
    "2022": ["LHCb RK RK* 2022", "GSSS combination Bs->mumu 2022"],
}

SCALE_GEV = 4.8


class FlavioUnavailableError(MesonportalError):
    """flavio is not installed (optional dependency ``mesonportal[flavour]``)."""


@lru_cache(maxsize=1)
def import_flavio():
    """Import flavio (module docstring: particle-table compatibility); FlavioUnavailableError if
    it is not installed."""
    try:
        import particle.data as pdata
    except ImportError as exc:  # pragma: no cover - particle is a core dependency
        raise FlavioUnavailableError(str(exc)) from None
    orig = pdata.basepath

    class _Compat:
        def __init__(self, base):
            self._base = base

        def __truediv__(self, name):
            p = self._base / name
            if not p.is_file() and str(name).startswith("particle") and str(name).endswith(".csv"):
                tables = sorted(x.name for x in self._base.iterdir()
                                if x.name.startswith("particle20") and x.name.endswith(".csv"))
                p = self._base / tables[-1]
            return p

        def __getattr__(self, k):
            return getattr(self._base, k)

    pdata.basepath = _Compat(orig)
    try:
        import flavio  # noqa: F401
        import wilson  # noqa: F401
    except ImportError:
        raise FlavioUnavailableError(
            "R_K needs flavio: pip install 'mesonportal[flavour]' (flavio>=2.5)") from None
    finally:
        pdata.basepath = orig
    import flavio

    return flavio


def wilson_coefficients(benchmark: str) -> dict[str, float]:
    """flavio-basis WET coefficients (ΔC, NP only) of a benchmark (module docstring)."""
    if benchmark not in BENCHMARKS:
        raise UnknownModelError(f"unknown benchmark {benchmark!r}; allowed: {', '.join(BENCHMARKS)}")
    b = BENCHMARKS[benchmark]
    wc: dict[str, float] = {}

    def add(k, v):
        wc[k] = wc.get(k, 0.0) + v

    if "C10_U" in b:
        add("C10_bsee", b["C10_U"])
        add("C10_bsmumu", b["C10_U"])
    if "C910_NU" in b:
        add("C9_bsmumu", b["C910_NU"])
        add("C10_bsmumu", b["C910_NU"])
    if "C910_pNU" in b:
        add("C9p_bsmumu", b["C910_pNU"])
        add("C10p_bsmumu", b["C910_pNU"])
    if "CS" in b:
        add("CS_bsmumu", b["CS"])
    if "CP" in b:
        add("CP_bsmumu", b["CP"])
    return wc


def _predict(flavio, wc_obj) -> dict[str, float]:
    out = {}
    for k, (obs, *args) in OBSERVABLES.items():
        if wc_obj is None:
            out[k] = float(flavio.sm_prediction(obs, *args))
        else:
            out[k] = float(flavio.np_prediction(obs, wc_obj, *args))
    return out


def sm_predictions() -> dict[str, float]:
    """flavio's SM central values of the three observables."""
    return _predict(import_flavio(), None)


def _loglike(flavio, dataset: str, wc_obj) -> float:
    from flavio.statistics.likelihood import MeasurementLikelihood

    obs = [o if len(o) > 1 else o[0] for o in OBSERVABLES.values()]
    ml = MeasurementLikelihood(obs, include_measurements=DATASETS[dataset])
    par = flavio.default_parameters.get_central_all()
    return float(np.sum(ml.log_likelihood_par(par, wc_obj)))


def rk_benchmark(benchmark: str, dataset: str = "2022") -> dict[str, Any]:
    """R_K[1.1,6], R_K*[1.1,6], BR(B_s → μμ), their SM values and the pull from the SM of a
    benchmark (module docstring).  Unknown benchmark/dataset → one-line error."""
    wc = wilson_coefficients(benchmark)
    if dataset not in DATASETS:
        raise UnknownModelError(f"unknown dataset {dataset!r}; allowed: {', '.join(DATASETS)}")
    flavio = import_flavio()
    import wilson

    w = wilson.Wilson(wc, scale=SCALE_GEV, eft="WET", basis="flavio")
    w0 = wilson.Wilson({}, scale=SCALE_GEV, eft="WET", basis="flavio")
    np_ = _predict(flavio, w)
    sm = _predict(flavio, None)
    ll_bm, ll_sm = _loglike(flavio, dataset, w), _loglike(flavio, dataset, w0)
    d = ll_bm - ll_sm
    pull = math.copysign(math.sqrt(2 * abs(d)), d)
    return {
        "benchmark": benchmark,
        **np_,
        "pull_sm": pull,
        "sm": sm,
        "wilson_coefficients": wc,
        "inputs": BENCHMARKS[benchmark],
        "basis": f"flavio WET basis at {SCALE_GEV} GeV; C_S, C_P in GeV^-1 (flavio convention)",
        "label_mapping": {
            "C10^U": "C10_bsee = C10_bsmumu (lepton universal)",
            "C9,10^NU": "C9_bsmumu = C10_bsmumu (muon only, RH lepton current)",
            "C9,10^pNU": "C9p_bsmumu = C10p_bsmumu (primed, muon only)",
            "|C_S - C_S'|": "CS_bsmumu (CSp = 0, positive sign)",
            "|C_P - C_P'|": "CP_bsmumu (CPp = 0, positive sign)",
        },
        "dataset": dataset,
        "measurements": DATASETS[dataset],
        "pull_definition": "sign * sqrt(2 (lnL_BM - lnL_SM)), experimental likelihood only (flavio)",
        "flavio_version": flavio.__version__,
    }
