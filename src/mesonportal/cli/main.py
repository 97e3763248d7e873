"""``mesonportal`` command-line entry point.

Bad input (unknown experiment, mode, parameter, malformed config, unknown option) gives a
one-line error on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import sys

import click

from mesonportal import __version__
from mesonportal.exceptions import MesonportalError, NoSensitivityError, ScanInterrupted


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mesonportal")
def cli() -> None:
    """Light dark-sector particles from meson decays, and the MiniBooNE low-energy excess."""


def _register() -> None:
    from mesonportal.cli import commands

    for cmd in commands.COMMANDS:
        cli.add_command(cmd)


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ARG001
    return f"mesonportal: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and the tests)."""
    import warnings

    warnings.formatwarning = _format_warning
    _register()
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
