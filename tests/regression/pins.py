"""The quantities the package reports, computed for the regression pins (issue #17, 7a).

``compute_pins()`` predicts the four shipped benchmarks in ν, ν̄ and dump mode with a reduced,
fixed sample size and seed, and fits ν+ν̄ (combined covariance).  Every value carries its MC
statistical error (meson-clustered, as the package reports it), so that the regression test can
compare in units of the MC error.  ``benchmarks/update_regression_pins.py`` writes the result to
``tests/regression/values.json``; ``tests/test_regression_pins.py`` recomputes and compares.

Best-fit MC error: for a signal that scales as x² (scalar models; approximately for idm), the
best-fit coupling product x̂ scales as N^(-1/2) with N the ν+ν̄ events in 200–1250 MeV, so
σ(x̂)/x̂ ≈ ½ σ(N)/N.
"""

from __future__ import annotations

import warnings

import numpy as np

BENCHMARKS = ("scalar", "pseudoscalar", "idm-single", "idm-double")
MODES = ("nu", "nubar", "dump")
#: Sample size and seed of the pins (small: the test must run in seconds; MC errors 2-8 %).
#: idm-double has the heaviest-tailed weights (dump-mode MC error ~10 % at 20 000): 40 000 there.
CONFIG = {"experiment": "miniboone", "samples": 20_000, "seed": 12345, "stat": "pearson",
          "samples_by_benchmark": {"idm-double": 40_000}}


def _window_error(sample, x: float | None = None) -> tuple[float, float]:
    """Events in 200 <= E_QE < 1250 MeV for the mode's exposure at coupling product ``x``
    (None: the reference) and their clustered MC error."""
    from mesonportal.analysis.prediction import EXCESS_WINDOW_MEV, clustered_sum_w2

    w = sample.weights(x) * sample.pot
    eqe = sample.columns["e_qe"]
    win = (eqe >= EXCESS_WINDOW_MEV[0]) & (eqe < EXCESS_WINDOW_MEV[1])
    ww = np.where(win, w, 0.0)
    return float(ww.sum()), float(np.sqrt(clustered_sum_w2(ww, sample._cluster())))


def compute_pins(config: dict | None = None) -> dict:
    """{benchmark: {mode: {...per-POT events and errors...}, "fit": {...}}} plus the config."""
    from mesonportal.analysis.fit import fit_excess
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.experiments import load_experiment
    from mesonportal.models.registry import load_benchmark

    cfg = dict(CONFIG if config is None else config)
    exp = load_experiment(cfg["experiment"])
    out: dict = {"config": cfg, "benchmarks": {}}
    for name in BENCHMARKS:
        model = load_benchmark(name)
        preds = {}
        entry: dict = {"coupling_product_ref": None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for mode in MODES:
                n_samples = cfg.get("samples_by_benchmark", {}).get(name, cfg["samples"])
                s = predict_signal(exp, mode, model, samples=n_samples, seed=cfg["seed"])
                preds[mode] = s
                tot = s.totals()
                n_win, e_win = _window_error(s)
                entry[mode] = {"events_per_pot": tot["events_total"] / s.pot,
                               "events_per_pot_mc_error": tot["mc_stat_error"] / s.pot,
                               "events_200_1250_per_pot": n_win / s.pot,
                               "events_200_1250_per_pot_mc_error": e_win / s.pot}
            entry["coupling_product_ref"] = float(preds["nu"].coupling_product_ref)
            fit = fit_excess({"nu": preds["nu"], "nubar": preds["nubar"]}, ("nu", "nubar"), preds["dump"],
                             cfg["stat"], model=model, benchmark=name)
        n = sum(_window_error(preds[m])[0] for m in ("nu", "nubar"))
        en = float(np.hypot(*(_window_error(preds[m])[1] for m in ("nu", "nubar"))))
        x = float(fit.best.best_fit)
        ev = {m: _window_error(preds[m], x) for m in ("nu", "nubar")}
        dump = preds["dump"].totals(x)
        entry["fit"] = {"best_fit": x, "best_fit_mc_error": 0.5 * x * en / n if n > 0 else float("inf"),
                        "events_nu": ev["nu"][0], "events_nu_mc_error": ev["nu"][1],
                        "events_nubar": ev["nubar"][0], "events_nubar_mc_error": ev["nubar"][1],
                        "events_dump": dump["events_total"], "events_dump_mc_error": dump["mc_stat_error"],
                        "chi2_background": float(fit.best.chi2_background),
                        "ndof_background": int(fit.best.ndof_background)}
        out["benchmarks"][name] = entry
    return out
