"""Which random stream carries the MC error of a prediction?  Prints JSON.

Diagnostic for the seed-ensemble check of docs/mc_errors.md §5.  A prediction draws from two
independent families of random streams of its run seed: the meson blocks
(``cache.meson_rng(seed, (pdg,), block)``) and the dark chain (``pipeline.stage_rng(seed,
"darkchain")``).  Three ensembles of ``events_200_1250`` (ν mode, default sizes), each with its
pull width = spread / mean quoted error:

* ``same_seed``: seeds s = seed0 … seed0+n−1, mesons and dark chain both from s (what
  ``predict`` does; what benchmarks/mc_errors.py measures);
* ``offset_dark``: the same meson samples, dark chain from s + ``--offset`` (breaks any pairing
  between a meson sample and its own dark-chain stream);
* ``dark_only``: the meson sample of seed0 held fixed, dark chain from seed0 + 1000 + k
  (spread = the dark chain's share of the variance, E[Var(T | mesons)]).

For independent streams the law of total variance gives spread(same_seed) ≈ spread(offset_dark)
≥ spread(dark_only).  Usage::

    python benchmarks/mc_error_streams.py [--benchmark scalar] [--seeds 10] [--seed0 1000]
                                          [--offset 100] [--coupling 3.1e-9]

Meson samples go to ``$MESONPORTAL_CACHE_DIR``.  Units: events for the ν-mode exposure.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings

import numpy as np


def _run(bench: str, seed: int, dark_seed: int, coupling: float | None) -> dict:
    import mesonportal.pipeline as PL
    from mesonportal.analysis.predict import predict_signal
    from mesonportal.models.registry import load_benchmark

    orig = PL.stage_rng

    def patched(s, stage):
        return orig(dark_seed if stage == "darkchain" else s, stage)

    PL.stage_rng = patched
    try:
        s = predict_signal("miniboone", "nu", load_benchmark(bench), seed=seed)
    finally:
        PL.stage_rng = orig
    out = {}
    for tag, x in (("reference", None), ("at_coupling", coupling)):
        if tag == "at_coupling" and x is None:
            continue
        t = s.totals(x)
        out[tag] = (t["events_200_1250"], t["mc_stat_error_200_1250"])
    return out


def _summary(rows: list[dict], tag: str) -> dict:
    est = np.array([r[tag][0] for r in rows])
    err = np.array([r[tag][1] for r in rows])
    sd = float(np.std(est, ddof=1))
    return {"n": len(rows), "mean": float(est.mean()), "rel_spread": sd / float(est.mean()),
            "rel_quoted_error": float(err.mean() / est.mean()), "pull_width": sd / float(err.mean())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="scalar")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed0", type=int, default=1000)
    ap.add_argument("--offset", type=int, default=100)
    ap.add_argument("--coupling", type=float, default=None)
    a = ap.parse_args()
    if a.seeds < 3:
        raise SystemExit("error: --seeds must be >= 3")
    warnings.simplefilter("ignore")
    seeds = range(a.seed0, a.seed0 + a.seeds)
    ens = {"same_seed": [_run(a.benchmark, s, s, a.coupling) for s in seeds],
           "offset_dark": [_run(a.benchmark, s, s + a.offset, a.coupling) for s in seeds],
           "dark_only": [_run(a.benchmark, a.seed0, a.seed0 + 1000 + k, a.coupling) for k in range(a.seeds)]}
    tags = ["reference"] + (["at_coupling"] if a.coupling is not None else [])
    res = {"benchmark": a.benchmark, "mode": "nu", "seed0": a.seed0, "offset": a.offset,
           "coupling": a.coupling, "quantity": "events_200_1250",
           "ensembles": {k: {t: _summary(v, t) for t in tags} for k, v in ens.items()}}
    n = a.seeds
    res["pull_width_68cl_factor"] = [math.sqrt((n - 1) / _chi2(0.84, n - 1)), math.sqrt((n - 1) / _chi2(0.16, n - 1))]
    print(json.dumps(res, indent=1))


def _chi2(q: float, dof: int) -> float:
    from scipy.stats import chi2

    return float(chi2.ppf(q, dof))


if __name__ == "__main__":
    main()
