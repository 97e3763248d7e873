"""Generate docs/paper_comparison.md: our best-fit couplings next to PRL 129 111803, with the
factors that explain each difference, every one computed with the package.

    python scripts/paper_comparison.py [--samples N] [--seed S] [--out docs/paper_comparison.md]
    python scripts/paper_comparison.py --from-json docs/paper_comparison.json   # re-render only

(one command; ~5-10 min on 2 busy cores).  The beam model changes while the project evolves, so
regenerate after such changes; the defaults of the package are never changed to match the paper.

Factors (each a ratio of best-fit coupling products, paper-convention / ours, so that
"ours × factors" estimates the paper's number):

* coherent charge (scalar, pseudoscalar): refit with a proton-only Z′ charge (``charge="proton"``,
  nucleus charge g_n Z, proton g_n) instead of the Lagrangian's up-quark current (g_n(2Z + N),
  proton 2 g_n) — public reference code uses charge Z (physics.md §2.1);
* three-body normalisation (scalar, pseudoscalar): the package's π/K → ℓνX rate is twice the
  one of the public alplib code (same bracket, half the prefactor; docs/models.md); if the paper's
  rates carry alplib's normalisation its coupling product is √(BR_ours / BR_alplib) larger;
* λ normalisation (scalar, pseudoscalar): our Primakoff vertex is λ_eff = λ/2 for the
  Lagrangian's (λ/4) X F′F (``model.lam_eff``); a paper using λ itself as the vertex quotes a
  product λ_eff/λ = 0.5 times ours;
* detector criteria (all): refits with the single-shower criterion ``circle-table`` (Table II
  circle alone) and ``angle`` instead of the default (circle or overlapping rings);
* g₁ (idm-single): the fit profiled over the V₁ → χχ̄ coupling (best case vs reference g₁ = 1);
* dirt (idm): refit without the χ up-scattering in the upstream dirt (``region`` = 1).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: PRL 129 111803 (Dutta, Kim, Thompson, Thornton, Van de Water), benchmark couplings as carried by
#: the reference talk (physics.md): scalar/pseudoscalar g_μ g_n λ [MeV⁻¹]; idm products.
PUBLISHED = {
    "scalar": (2.2e-8, "MeV^-1"),
    "pseudoscalar": (5.9e-7, "MeV^-1"),
    "idm-single": (3.6e-9, ""),
    "idm-double": (1.3e-7, ""),
}


def _fit(model, name, samples, seed, criterion="circle", full=False):
    from mesonportal.analysis.compare import _fit_variants
    from mesonportal.cli.fit_cmd import run_fit

    if criterion == "circle":
        out = run_fit("miniboone", model, ("nu", "nubar"), samples=samples, seed=seed, benchmark=name)
    else:  # the lens's fit of a systematic variant with another criterion (same numbers as run_fit)
        r = _fit_variants(name, [("criterion", criterion, model, criterion)], samples=samples, seed=seed, dirt=True)[0]
        out = (None if isinstance(r, Exception) else r, None, None)
    return out if full else out[0]


def _s(r):
    if r is None:
        return None
    b = r.best
    return {"coupling_product": b.best_fit, "chi2": b.chi2_min, "significance_sigma": b.significance_sigma,
            "at_scan_edge": b.at_scan_edge, "events_nu": r.events.get("nu"), "events_nubar": r.events.get("nubar")}


def compute(samples: int | None, seed: int, log=print) -> dict:
    from mesonportal import __version__
    from mesonportal.analysis.compare import G1_FACTORS
    from mesonportal.models.registry import load_benchmark

    out: dict = {"meta": {"mesonportal": __version__, "seed": seed,
                          "samples": samples if samples is not None else "prediction default",
                          "python": platform.python_version()}, "benchmarks": {}}
    t0 = time.perf_counter()
    for name, (pub, units) in PUBLISHED.items():
        log(f"{name}: reference fit")
        model = load_benchmark(name)
        ref, preds, dump = _fit(model, name, samples, seed, full=True)
        x0 = ref.best.best_fit
        row: dict = {"published": pub, "units": ref.units, "ours": _s(ref), "factors": {}}
        if any("region" in p.columns for p in preds.values()):
            from mesonportal.analysis.compare import detector_only
            from mesonportal.analysis.fit import fit_excess

            r = fit_excess({m: detector_only(p) for m, p in preds.items()}, ("nu", "nubar"),
                           detector_only(dump) if dump is not None else None, model=model, benchmark=name)
            row["factors"]["dirt (detector-only refit)"] = {
                "fit": _s(r), "factor": r.best.best_fit / x0,
                "how": "refit without the events that up-scatter in the upstream dirt (region = 1; the dirt volume is an "
                       "assumption, docs/experiments.md)"}
        for crit in ("circle-table", "angle"):
            log(f"{name}: criterion {crit}")
            r = _fit(model, name, samples, seed, crit)
            row["factors"][f"criterion {crit}"] = {
                "fit": _s(r), "factor": (r.best.best_fit / x0) if (r is not None and x0 > 0) else None,
                "how": f"refit with the single-shower criterion '{crit}' instead of the default"}
        if name in ("scalar", "pseudoscalar"):
            log(f"{name}: proton-only Z' charge")
            mp = load_benchmark(name, charge="proton")
            r = _fit(mp, name, samples, seed)
            row["factors"]["coherent charge (proton-only)"] = {
                "fit": _s(r), "factor": r.best.best_fit / x0,
                "how": f"refit with charge='proton': C-12 charge {mp.nuclear_charge(6, 12) / mp.g_n:.3g} g_n vs "
                       f"{model.nuclear_charge(6, 12) / model.g_n:.3g} g_n, proton {mp.proton_charge() / mp.g_n:.3g} g_n "
                       f"vs {model.proton_charge() / model.g_n:.3g} g_n"}
            br = model.production_branching_ratio("pi", "mu")
            row["factors"]["three-body normalisation (alplib prefactor)"] = {
                "factor": math.sqrt(2.0),
                "how": f"package BR(pi -> mu nu X) = {br:.3g} at the reference couplings; alplib's bracket carries half "
                       "the prefactor (docs/models.md), so the same signal needs sqrt(2) x the coupling product"}
            row["factors"]["lambda normalisation (vertex = lambda)"] = {
                "factor": model.lam_eff / model.lam,
                "how": "our vertex is lam_eff = lam/2 for (lam/4) X F'F (model.lam_eff); quoting the vertex coupling "
                       "itself gives lam_eff/lam x our product"}
            fac = (row["factors"]["coherent charge (proton-only)"]["factor"] * math.sqrt(2.0)
                   * model.lam_eff / model.lam)
            row["combined_factor"] = {"factor": fac, "of": "proton-only charge x three-body x lambda"}
            fac2 = row["factors"]["coherent charge (proton-only)"]["factor"] * math.sqrt(2.0)
            row["combined_factor_without_lambda"] = {"factor": fac2, "of": "proton-only charge x three-body"}
        if name == "idm-single":
            rows = []
            for f in G1_FACTORS:
                g = min(float(model.g1) * f, 4 * math.pi)
                log(f"{name}: g1 = {g:.3g}")
                try:
                    r = _fit(load_benchmark(name, g1=g), name, samples, seed)
                    rows.append({"g1": g, **_s(r)})
                except Exception as exc:  # noqa: BLE001 - recorded in the report
                    rows.append({"g1": g, "error": str(exc)})
            ok = [r for r in rows if "chi2" in r]
            best = min(ok, key=lambda r: r["chi2"]) if ok else None
            row["g1_profile"] = rows
            if best is not None:
                flat = [r["g1"] for r in ok if r["chi2"] - best["chi2"] < 0.01]
                row["g1_flat_range"] = [min(flat), max(flat)]
                # g1 at which our best-fit product equals the published one (log-log interpolation
                # along the profile, where the product is monotone)
                pts = sorted((r["g1"], r["coupling_product"]) for r in ok if r["coupling_product"] > 0)
                g_match = None
                for (g_a, x_a), (g_b, x_b) in zip(pts, pts[1:]):
                    if (x_a - pub) * (x_b - pub) <= 0 and x_a != x_b:
                        t = math.log(pub / x_a) / math.log(x_b / x_a)
                        g_match = math.exp(math.log(g_a) + t * math.log(g_b / g_a))
                        break
                row["g1_matching_published"] = g_match
            if best is not None:
                row["factors"]["g1 (best case of the profile)"] = {
                    "fit": best, "factor": best["coupling_product"] / x0,
                    "how": f"fit repeated for g1 in {list(G1_FACTORS)} x the benchmark g1 = {model.g1:g}; best chi2 at "
                           f"g1 = {best['g1']:.3g}"}
        pubx = pub
        row["ratio_published_over_ours"] = pubx / x0 if x0 > 0 else None
        out["benchmarks"][name] = row
    out["meta"]["wall_time_s"] = round(time.perf_counter() - t0, 1)
    return out


def markdown(res: dict) -> str:
    m = res["meta"]
    L = ["# Our benchmark fits next to PRL 129 111803",
         "",
         "Generated by `python scripts/paper_comparison.py` (do not edit by hand; regenerate after changes to the "
         "beam, the detector response or the models). "
         f"mesonportal {m['mesonportal']}, seed {m['seed']}, samples {m['samples']}, wall time {m.get('wall_time_s')} s.",
         "",
         "Published couplings: Dutta, Kim, Thompson, Thornton, Van de Water, PRL 129 (2022) 111803 (arXiv:2110.11944) "
         "as quoted by the reference talk (B. Dutta, 2022). Ours: combined ν+ν̄ MiniBooNE covariance fit of the "
         "2021 release (arXiv:2006.16883) with the package defaults (Lagrangian as written in docs/models.md: Z′ on "
         "the up-quark current, λ_eff = λ/2, three-body rates from the full |M|², single-shower criterion "
         "`circle` = arXiv:2210.08021 Table II circle or rings overlapping below 13°). The defaults are **not** tuned "
         "to the paper; each factor below is a refit or a ratio computed with the package, expressed as "
         "(best-fit product in the alternative convention) / (ours).",
         "",
         "| benchmark | published | ours (χ², signif.) | published / ours |",
         "|---|---|---|---|"]
    for name, r in res["benchmarks"].items():
        o = r["ours"]
        edge = " (at the g′ ≤ 4π edge)" if o["at_scan_edge"] else ""
        L.append(f"| {name} | {r['published']:.2g} {r['units']} | {o['coupling_product']:.3g}{edge} "
                 f"(χ² {o['chi2']:.1f}, {o['significance_sigma']:.1f}σ) | {r['ratio_published_over_ours']:.3g} |")
    for name, r in res["benchmarks"].items():
        L += ["", f"## {name}", "", "| factor | value | how it was computed |", "|---|---|---|"]
        for k, f in r["factors"].items():
            v = "no sensitivity" if f.get("factor") is None else f"{f['factor']:.3g}"
            how = f["how"]
            if k.startswith("g1") and r.get("g1_flat_range"):
                lo, hi = r["g1_flat_range"]
                x0 = r["ours"]["coupling_product"]
                xs = [p["coupling_product"] / x0 for p in r["g1_profile"] if "chi2" in p and lo <= p["g1"] <= hi]
                v = f"{min(xs):.2g} – {max(xs):.2g}"
                gs = ", ".join(format(p["g1"], ".3g") for p in r["g1_profile"])
                how = (f"fit repeated for g1 = {gs}; chi2_min is flat "
                       f"(within 0.01) for g1 in [{lo:.3g}, {hi:.3g}], where the needed product spans this range")
            L.append(f"| {k} | {v} | {how} |")
        ratio = r["ratio_published_over_ours"]
        if "combined_factor" in r:
            c1, c2 = r["combined_factor"]["factor"], r["combined_factor_without_lambda"]["factor"]
            L += ["", f"Published / ours = {ratio:.3g}. Proton-only charge × three-body normalisation = {c2:.3g} "
                      f"(residual {ratio / c2:.2g}); including the λ-vertex convention = {c1:.3g} "
                      f"(residual {ratio / c1:.2g}). The λ factor moves the other way: it applies only if the paper "
                      "quotes the vertex coupling; the residual is what the listed conventions do not explain "
                      "(beam/flux model, detector response and efficiency, and the paper's fit procedure)."]
        else:
            crit = [f["factor"] for k, f in r["factors"].items() if k.startswith("criterion") and f.get("factor")]
            txt = (f"Published / ours = {ratio:.3g}; the single-shower criteria alone move our product by "
                   f"{', '.join(f'{c:.3g}' for c in crit)}")
            dirt = r["factors"].get("dirt (detector-only refit)", {}).get("factor")
            if dirt:
                txt += (f"; without the dirt up-scattering it moves by {dirt:.3g} (residual {ratio / dirt:.3g}, or "
                        f"{ratio / dirt / max(crit):.3g} with the Table II circle alone as well)")
            L += ["", txt + "."]
        if "g1_profile" in r:
            fr = r.get("g1_flat_range")
            gm = r.get("g1_matching_published")
            if fr:
                L += ["", f"χ²_min is the same (within 0.01) for g₁ from {fr[0]:.3g} to {fr[1]:.3g}: there the fit quality "
                          "does not depend on g₁, only the coupling product needed does, so the 'best case' is a whole "
                          "range, not a point." + (f" Our best-fit product equals the published {r['published']:.2g} at "
                                                   f"g₁ ≈ {gm:.3g} (log interpolation of the profile)." if gm else "")]
            L += ["", "g₁ profile (fit of ε₁²g′₁²/4π at each g₁; reference g₁ = 1):", "",
                  "| g₁ | best-fit product | χ² | significance | events ν / ν̄ |", "|---|---|---|---|---|"]
            for p in r["g1_profile"]:
                if "chi2" not in p:
                    L.append(f"| {p['g1']:.3g} | error: {p['error']} | | | |")
                    continue
                L.append(f"| {p['g1']:.3g} | {p['coupling_product']:.3g}{' (edge)' if p['at_scan_edge'] else ''} | "
                         f"{p['chi2']:.2f} | {p['significance_sigma']:.2f}σ | {p['events_nu']:.1f} / {p['events_nubar']:.1f} |")
    L += ["", "Notes:", "",
          "- Factors are ratios of refitted best fits, so they include the (small) changes of the spectral shape; "
          "multiplying them assumes they are independent.",
          "- The three-body and λ factors are exact convention ratios (√2 and 1/2); the charge and criterion "
          "factors are full refits (same seed and meson samples).",
          "- idm: the nucleus coupling is the electric charge (εeZ), so no Z′ charge convention enters; the "
          "dirt factor removes the up-scattering in the (assumed) upstream dirt, which the package includes by default.",
          "",
          "## Long-lived vector (third scenario)",
          "",
          "The talk's long-lived-vector benchmarks, (m_χ, m_φ, ḡ) = (5 MeV, 650 MeV, 9e-8 MeV⁻¹) and (10 MeV, 550 MeV, "
          "1.3e-8 MeV⁻¹), are fitted with the same likelihood by `mesonportal fit --benchmark longlived-vector-5` / "
          "`-10`; the fitted ḡ next to the talk's and the factor analysis (longitudinal mode of a non-conserved "
          "current, m_χ scaling of the conversion cross section, λ and charge conventions) are in "
          "docs/longlived_vector.md, section \"Comparison with the talk: factor analysis\"."]
    return "\n".join(L) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=None)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--out", default=str(ROOT / "docs" / "paper_comparison.md"))
    ap.add_argument("--from-json", default=None, help="re-render the Markdown from a saved JSON (no refits)")
    a = ap.parse_args(argv)
    if a.from_json:
        res = json.loads(Path(a.from_json).read_text(encoding="utf-8"))
    else:
        res = compute(a.samples, a.seed, log=lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(a.out)
    out.write_text(markdown(res), encoding="utf-8")
    if not a.from_json:
        out.with_suffix(".json").write_text(json.dumps(res, indent=2, allow_nan=False), encoding="utf-8")
    print(f"written {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
