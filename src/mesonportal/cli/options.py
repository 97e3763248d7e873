"""Options shared by several commands."""

from __future__ import annotations

import click

from mesonportal.experiments.config import MODES

experiment_option = click.option(
    "--experiment", "-e", default="miniboone", show_default=True,
    help="Shipped experiment name or path to an experiment TOML file.",
)
mode_option = click.option(
    "--mode", "-m", type=click.Choice(MODES), default="nu", show_default=True, help="Beam mode.",
)
#: Seeds are non-negative integers (numpy.random.SeedSequence; stored as int64 in outputs).
SEED_MAX = 2**63 - 1
seed_option = click.option("--seed", type=click.IntRange(0, SEED_MAX), default=12345, show_default=True,
                           help="Random seed (integer >= 0).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")


def samples_option(default: int):
    return click.option(
        "--samples", "-n", type=click.IntRange(min=1), default=default, show_default=True,
        help="Number of sampled primary mesons.",
    )


def model_options(f):
    """``--model NAME``, ``--param k=v`` (repeatable) and ``--benchmark NAME``."""
    f = click.option("--benchmark", "-b", default=None,
                     help="Shipped benchmark: scalar, pseudoscalar, idm-single, idm-double (or a TOML path).")(f)
    f = click.option("--param", "-p", "params", multiple=True, metavar="K=V",
                     help="Model parameter (repeatable), e.g. --param m_x=1.")(f)
    f = click.option("--model", "model_name", default=None, help="Model: scalar, pseudoscalar, idm or longlived-vector.")(f)
    return f


def resolve_model(model_name: str | None, params: tuple[str, ...], benchmark: str | None, required: bool = True):
    """Build the model from ``--benchmark`` (optionally overridden by ``--param``) or from
    ``--model`` + ``--param``.  Returns None when neither is given and ``required`` is False."""
    from pathlib import Path

    from mesonportal.exceptions import ParameterError
    from mesonportal.models.registry import load_benchmark, make_model, model_from_toml, parse_param_assignments

    kv = parse_param_assignments(list(params))
    if benchmark is not None:
        if model_name is not None:
            raise ParameterError("give either --benchmark or --model, not both")
        if benchmark.endswith(".toml") or Path(benchmark).is_file():
            return model_from_toml(benchmark, **kv)
        return load_benchmark(benchmark, **kv)
    if model_name is not None:
        return make_model(model_name, **kv)
    if kv:
        raise ParameterError("--param needs --model or --benchmark")
    if required:
        raise ParameterError("a model is required: --model NAME [--param k=v ...] or --benchmark NAME "
                             "(benchmarks: scalar, pseudoscalar, idm-single, idm-double)")
    return None


def resolve_mode(experiment, mode: str) -> str:
    """The beam mode to use: as given, except that the default of ``--mode`` (``nu``) becomes the
    single mode of an experiment without a ``nu`` exposure (``beam`` for stopped-pion sources)
    when ``--mode`` was not given on the command line."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.get_parameter_source("mode") is not click.core.ParameterSource.DEFAULT:
        return mode
    from mesonportal.pipeline import resolve_experiment

    exp = resolve_experiment(experiment)
    return mode if mode in exp.modes or len(exp.modes) != 1 else exp.modes[0]
