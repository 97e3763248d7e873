"""Print a compact text table of a ``benchmarks/mc_errors.py`` JSON: ``python benchmarks/_mc_table.py out.json``."""
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    w = r["events_200_1250"]
    print(f'{r["benchmark"]:13s} {r.get("allocation")} n={r["n_seeds"]} t={r["mean_time_s"]:.2f}s eff={r["efficiency_per_s"]:.0f}/s  '
          f'win mean={w["mean"]:.4g} spread={w["spread"]/w["mean"]:.4f} quoted={w["rel_quoted_error"]:.4f} pull={w["pull_width"]:.3f} [{w["pull_width_68cl"][0]:.2f},{w["pull_width_68cl"][1]:.2f}]')
    for b in r["eqe_bins"]:
        print(f'    bin {b["e_qe_mev"]} frac={b["signal_fraction"]:.3f} rel_spread={b["spread"]/b["mean"]:.4f} quoted={b["rel_quoted_error"]:.4f} pull={b["pull_width"]:.3f} [{b["pull_width_68cl"][0]:.2f},{b["pull_width_68cl"][1]:.2f}]')
