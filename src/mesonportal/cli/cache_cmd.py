"""``mesonportal cache info|clear``: size report and cleanup of the on-disk meson cache."""

from __future__ import annotations

import json

import click


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n} B"  # pragma: no cover


@click.group("cache")
def command() -> None:
    """Inspect or clear the on-disk cache of meson samples and tables (MESONPORTAL_CACHE_DIR)."""


@command.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
def info_command(as_json: bool) -> None:
    """Cache directory, number of entries and their size (per kind, per experiment and mode)."""
    from mesonportal.cache import cache_info

    info = cache_info()
    if as_json:
        click.echo(json.dumps(info))
        return
    state = "enabled" if info["enabled"] else "disabled (MESONPORTAL_NO_CACHE)"
    click.echo(f"cache directory: {info['directory']} ({state})")
    click.echo(f"total: {info['total_files']} files, {_size(info['total_bytes'])}")
    for kind, k in info["kinds"].items():
        click.echo(f"  {kind:<10} {k['files']:>5} files  {_size(k['bytes']):>10}")
    for label, k in sorted(info["mesons_by_experiment_mode"].items()):
        click.echo(f"    mesons {label:<20} {k['files']:>4} files  {_size(k['bytes']):>10}")


@command.command("clear")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["mesons", "tables", "temporary"]),
              help="Only these kinds of entries (repeatable; default: all).")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0, max=1e6), default=None, metavar="DAYS",
              help="Only entries last written more than DAYS days ago.")
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object to stdout.")
def clear_command(kinds, older_than, dry_run, as_json) -> None:
    """Delete cached meson samples and tables (they are recomputed on demand). Only files the
    cache itself writes are deleted."""
    from mesonportal.cache import clear_cache

    res = clear_cache(kinds=tuple(kinds) or ("mesons", "tables", "temporary"), older_than_days=older_than,
                      dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(res))
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {res['removed_files']} files ({_size(res['removed_bytes'])}) from {res['directory']}")
