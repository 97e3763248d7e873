"""``mesonportal t3r``: predictions of a U(1)_T3R point; ``mesonportal t3r rk``: R_K benchmarks.

Thin layer over :func:`mesonportal.models.t3r.summary.evaluate` and
:func:`mesonportal.models.t3r.flavour.rk_benchmark`.
"""

from __future__ import annotations

import json

import click

from mesonportal.cli.options import json_option


def _jsonable(x):
    import math

    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


@click.group("t3r", invoke_without_command=True)
@click.option("--m-aprime", type=float, default=None, help="A' mass [MeV].")
@click.option("--m-phiprime", type=float, default=None, help="phi' mass [MeV].")
@click.option("--m-dm", type=float, default=None, help="DM (eta_1) mass [MeV].")
@click.option("--delta", type=float, default=0.0, show_default=True, help="m_eta2 - m_eta1 [MeV].")
@click.option("--m-nus", type=float, default=10.0, show_default=True, help="Sterile neutrino mass [MeV].")
@click.option("--m-nud", type=float, default=1e-3, show_default=True, help="Dirac neutrino mass [MeV].")
@click.option("--v", "v_gev", type=float, default=None,
              help="U(1)_T3R vev V [GeV]; without it V is solved for Omega h^2 = 0.12.")
@click.option("--anomaly", type=click.Choice(["2021", "2025"]), default="2021", show_default=True,
              help="Measured Delta a_mu to compare with (2021: the talk's 251(59)e-11; 2025: final FNAL + WP25).")
@json_option
@click.pass_context
def command(ctx, m_aprime, m_phiprime, m_dm, delta, m_nus, m_nud, v_gev, anomaly, as_json):
    """Couplings, muon g-2, relic abundance, direct detection and simplified models of a U(1)_T3R
    point (masses MeV, V GeV); subcommand 'rk' for the R_K(*) benchmarks."""
    if ctx.invoked_subcommand is not None:
        return
    from mesonportal.exceptions import ParameterError
    from mesonportal.models.t3r.summary import evaluate

    for name, val in (("--m-aprime", m_aprime), ("--m-phiprime", m_phiprime), ("--m-dm", m_dm)):
        if val is None:
            raise ParameterError(f"{name} is required (a mass in MeV, > 0)")
    out = _jsonable(evaluate(m_aprime, m_phiprime, m_dm, v_gev, delta, m_nus, m_nud, anomaly))
    if as_json:
        click.echo(json.dumps(out))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"U(1)_T3R point (m_A', m_phi', m_eta) = ({m_aprime:g}, {m_phiprime:g}, {m_dm:g}) MeV")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    rel = out["relic"]
    t.add_row(escape("V [GeV]") + (" (solved for Omega h^2 = 0.12)" if rel["v_solved_for_omega_h2"] else ""),
              f"{rel['v_gev']:.4g}")
    t.add_row("g_T3R", f"{out['couplings']['g_t3r']:.4g}")
    t.add_row("Omega h^2", f"{rel['omega_h2']:.4g}")
    t.add_row(escape("<sigma v> at x_f [cm^3/s]"), f"{rel['sigma_v_cm3_s']:.3g}")
    top = [c for c in rel["channels"] if c["fraction_at_x_f"] >= 0.01]
    t.add_row("channels at x_f (>= 1 %)", escape(", ".join(f"{c['channel']} {100 * c['fraction_at_x_f']:.0f}%" for c in top)))
    d = out["delta_a_mu_detail"]
    t.add_row("Delta a_mu", f"{d['total']:.3g}  (measured {d['measured']:.3g} ± {d['measured_error']:.2g})")
    si = out["sigma_si_pb"]
    t.add_row(escape("sigma_SI phi' / A' [pb]"), f"{si['scalar']:.3g} / {si['vector']:.3g}")
    for k, v in out["simplified_models"].items():
        t.add_row(f"realises {k}", "yes" if v["realised"] else "no")
    Console().print(t)


@command.command("rk")
@click.option("--benchmark", "-b", default="BMA", show_default=True, help="BMA, BMB, BMC or BMD.")
@click.option("--dataset", default="2022", show_default=True, help="Measurements for the pull: 2021 or 2022.")
@json_option
def rk_command(benchmark, dataset, as_json):
    """R_K[1.1,6], R_K*[1.1,6], BR(B_s -> mu mu) and the SM pull of a talk benchmark (flavio)."""
    from mesonportal.models.t3r.flavour import rk_benchmark

    out = _jsonable(rk_benchmark(benchmark, dataset))
    if as_json:
        click.echo(json.dumps(out))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"{benchmark}: flavio {out['flavio_version']} (pull vs {dataset} data)")
    for c in ("observable", "benchmark", "SM"):
        t.add_column(c, justify="right")
    for k in ("r_k", "r_kstar", "br_bs_mumu"):
        t.add_row(k, f"{out[k]:.4g}", f"{out['sm'][k]:.4g}")
    t.add_row(escape("pull_sm [sigma]"), f"{out['pull_sm']:.2f}", "")
    Console().print(t)
