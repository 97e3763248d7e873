"""``mesonportal data EXPERIMENT [--json]``: summaries of the bundled experimental data.

An experiment with a bundled excess data release (``miniboone``): data, unconstrained and
ν_μ-constrained background and the excess for 200 < E_QE < 1250 MeV in ν and ν̄ mode (MiniBooNE
2021 data release, arXiv:2006.16883).  An experiment with counting data sets (``microboone``):
observed and background per channel (:mod:`mesonportal.datasets`).  Which data an experiment
has is decided by the data-set registry, not by its name.
"""

from __future__ import annotations

import json

import click

from mesonportal.exceptions import UnknownExperimentError

__all__ = ["command", "miniboone_summary"]

_RANGE_MEV = (200.0, 1250.0)
_FIELDS = (
    "data",
    "background",
    "background_error",
    "constrained_background",
    "constrained_error",
    "excess",
    "excess_error",
)


def miniboone_summary() -> dict:
    """The JSON-ready MiniBooNE summary printed by ``mesonportal data miniboone --json``."""
    from mesonportal.analysis.likelihood import background_summary

    modes = {}
    for mode in ("nu", "nubar"):
        s = background_summary(mode, _RANGE_MEV).as_dict()
        modes[mode] = {k: round(float(s[k]), 2) for k in _FIELDS}
    return {
        "experiment": "miniboone",
        "energy_range_mev": [int(_RANGE_MEV[0]), int(_RANGE_MEV[1])],
        "modes": modes,
    }


def _print_table(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    lo, hi = summary["energy_range_mev"]
    table = Table(
        title=f"MiniBooNE 2021 data release (arXiv:2006.16883), {lo} < E_QE < {hi} MeV [events]"
    )
    table.add_column("mode")
    for head in ("data", "background", "ν_μ-constrained bkg", "excess"):
        table.add_column(head, justify="right")
    for mode, v in summary["modes"].items():
        table.add_row(
            mode,
            f"{v['data']:.0f}",
            f"{v['background']:.1f} ± {v['background_error']:.1f}",
            f"{v['constrained_background']:.1f} ± {v['constrained_error']:.1f}",
            f"{v['excess']:.1f} ± {v['excess_error']:.1f}",
        )
    Console().print(table)


@click.command("data")
@click.argument("experiment")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def command(experiment: str, as_json: bool) -> None:
    """Summaries of bundled experimental data (EXPERIMENT: miniboone, microboone)."""
    from mesonportal.datasets import EXCESS_DATASETS, constraints_of

    name = experiment.strip().lower()
    if name in EXCESS_DATASETS:
        summary = miniboone_summary()
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            _print_table(summary)
        return
    names = constraints_of(name)
    if not names:
        avail = list(EXCESS_DATASETS) + sorted({e for e in _constraint_experiments()})
        raise UnknownExperimentError(f"no bundled data for experiment {experiment!r}; available: {', '.join(avail)}")
    summary = counting_summary(name)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_counting(summary)


def _constraint_experiments() -> tuple[str, ...]:
    from mesonportal.datasets import constraints_of_any

    return constraints_of_any()


def counting_summary(experiment: str) -> dict:
    """JSON-ready summary of the counting data sets bundled for ``experiment`` (observed,
    background ± systematic per channel, exposure, reference)."""
    from mesonportal.datasets import constraints_of, get_dataset

    out = []
    for n in constraints_of(experiment):
        d = get_dataset(n)
        out.append({"dataset": d.name, "exposure_pot": d.exposure_pot, "reference": d.reference,
                     "channels": [{"name": c.name, "topology": c.topology, "observed": c.observed,
                                   "background": c.background, "background_sigma": c.background_sigma}
                                  for c in d.channels]})
    return {"experiment": experiment, "datasets": out}


def _print_counting(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['experiment']}: bundled counting data sets [events]")
    for head in ("data set", "channel", "observed", "background", "exposure [POT]", "reference"):
        table.add_column(head)
    for d in summary["datasets"]:
        for c in d["channels"]:
            table.add_row(d["dataset"], c["name"], str(c["observed"]), f"{c['background']:.1f} ± {c['background_sigma']:.2f}",
                          f"{d['exposure_pot']:.3g}", d["reference"])
    Console().print(table)
