"""Flux ratios to the official MiniBooNE ν-mode flux for the tertiary-model variants of issue #9 (docs/flux_validation.md).

    MESONPORTAL_CACHE_DIR=... python benchmarks/lowenergy_flux.py [--samples 2000000] [--seed 2026] [--out out.json]

Each configuration is the shipped miniboone.toml with the target keys named (written to a temporary TOML);
prints one JSON object: configuration → integrals (ν_μ, ν̄_μ, ν_e, ν̄_e ratios with MC errors) and the ratios
in 0–0.1 / 0.1–0.2 / 0.2–0.4 GeV and per 200 MeV bin of ν_μ.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import numpy as np

CONFIGS = {
    "sw_extrapolated, parents > 1 GeV/c (former default)": {"tertiary_model": '"sw_extrapolated"',
                                                              "tertiary_min_momentum_mev": "1000.0"},
    "urqmd_table below 6.4 GeV/c, parents > 1 GeV/c": {"tertiary_model": '"urqmd_table"',
                                                         "tertiary_min_momentum_mev": "1000.0"},
    "urqmd_table below 6.4 GeV/c, parents > 0.5 GeV/c (default)": {"tertiary_model": '"urqmd_table"',
                                                                     "tertiary_min_momentum_mev": "500.0"},
}


def variant(keys: dict[str, str], tmp: Path) -> str:
    from importlib import resources

    src = resources.files("mesonportal.experiments").joinpath("miniboone.toml").read_text()
    for k, v in keys.items():
        src, n = re.subn(rf"^{k} = .*$", f"{k} = {v}", src, count=1, flags=re.M)
        assert n == 1, k
    f = tmp / (str(abs(hash(tuple(keys.items())))) + ".toml")
    f.write_text(src)
    return str(f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--only", default=None, help="substring of the configuration names to run")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    from mesonportal import api
    from mesonportal.analysis.flux import compare_fluxes, official_flux

    off = official_flux()
    res = {}
    with tempfile.TemporaryDirectory() as td:
        for name, keys in CONFIGS.items():
            if a.only and a.only not in name:
                continue
            fl = api.neutrino_flux(variant(keys, Path(td)), "nu", samples=a.samples, seed=a.seed)
            full = compare_fluxes(fl, off)
            low = compare_fluxes(fl, off, [0.0, 0.1, 0.2, 0.4])
            bins = compare_fluxes(fl, off, np.round(np.arange(0.2, 2.01, 0.2), 3))
            r = {"conventions": fl["conventions"]}
            for f in ("numu", "numubar", "nue", "nuebar"):
                r[f] = [round(full[f]["integral_ratio"], 4), round(full[f]["integral_ratio_err"], 4)]
                r[f + "_low"] = [round(float(x), 3) for x in low[f]["ratio"]]
                r[f + "_low_err"] = [round(float(x), 3) for x in low[f]["ratio_err"]]
            r["numu_200mev"] = [round(float(x), 3) for x in bins["numu"]["ratio"]]
            res[name] = r
            print(name, json.dumps(r), flush=True)
    if a.out:
        a.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
