"""``mesonportal`` command-line entry point.

Bad input (unknown experiment, mode, parameter, malformed config, unknown option) gives a
one-line error on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import sys

import click

from mesonportal import __version__
from mesonportal.exceptions import MesonportalError, NoSensitivityError, ScanInterrupted


class LazyGroup(click.Group):
    """A click group whose subcommands (:data:`mesonportal.cli.commands.COMMAND_TABLE`) are
    imported only when used, so that one command's start-up does not pay for the others'."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from mesonportal.cli.commands import COMMAND_TABLE

        return sorted(set(COMMAND_TABLE) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str):
        cmd = self.commands.get(cmd_name)
        if cmd is None:
            from mesonportal.cli.commands import load_command

            cmd = load_command(cmd_name)
            if cmd is not None:
                self.add_command(cmd, cmd_name)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mesonportal")
def cli() -> None:
    """Light dark-sector particles from meson decays, and the MiniBooNE low-energy excess."""


def _register() -> None:
    """Nothing to do: the commands are registered lazily (:class:`LazyGroup`); kept for callers
    of the previous eager registration."""


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ARG001
    return f"mesonportal: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and the tests)."""
    import gc
    import warnings

    warnings.formatwarning = _format_warning
    # Start-up (the command's imports, pydantic's schema classes) allocates tens of thousands of
    # long-lived container objects: with CPython's default first-generation threshold (700) that
    # is ≈ 100 collections, 15-30 ms of a fresh `predict`; a threshold of 10 000 makes it ≈ 6.
    # Only when unreachable reference cycles are freed changes (a little later), never what a
    # command computes; the previous thresholds are restored on return for in-process callers.
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], _GC_THRESHOLD0), *threshold[1:])
    try:
        return _run(argv)
    finally:
        gc.set_threshold(*threshold)


#: First-generation garbage-collection threshold while a command runs (see :func:`main`).
_GC_THRESHOLD0 = 10_000


def _run(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="mesonportal", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help / --version
        return int(exc.exit_code or 0)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("mesonportal: aborted", err=True)
        return 130
    except ScanInterrupted as exc:  # Ctrl-C during a scan: finished points are saved
        click.echo(f"mesonportal: {exc}", err=True)
        return 130
    except click.ClickException as exc:  # usage errors: unknown option, bad value
        msg = exc.format_message().replace("\n", " ")
        click.echo(f"mesonportal: error: {msg}", err=True)
        return 2
    except NoSensitivityError as exc:
        click.echo(f"mesonportal: no sensitivity: {exc}", err=True)
        return 1
    except MesonportalError as exc:
        click.echo(f"mesonportal: error: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
