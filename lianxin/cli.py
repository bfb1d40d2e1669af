"""The ``lianxin`` command: one console entry point with subcommands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lianxin.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except (ConfigError, ValueError) as e:
        raise click.ClickException(str(e)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """连心 Lianxin — the system of record for enterprise-service campaigns.

    The store is chosen by LIANXIN_DATABASE_URL (default: sqlite:///lianxin.db in the working
    directory; or postgresql://user@host:5432/db).
    """


@main.command()
def migrate() -> None:
    """Create every table once (idempotent; safe to run from several processes)."""
    from lianxin.migrate import migrate as run_migrations

    settings = _settings()
    applied = run_migrations(settings.database)
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("schema is up to date")


@main.group()
def directory() -> None:
    """The org directory: regions, departments, users."""


@directory.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-user", default="admin", show_default=True, help="Recorded as the actor.")
def directory_load(path: Path, as_user: str) -> None:
    """Load a directory file (JSON); entries already known and unchanged record nothing."""
    from domain.common import Actor, Role
    from lianxin.bootstrap import build_application
    from lianxin.directory_file import load_directory
    from lianxin.migrate import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.database)
    app = build_application(settings)
    try:
        report = load_directory(app, path, actor=Actor(user_id=as_user, role=Role.ADMIN))
    finally:
        app.close()
    click.echo(str(report))


def run() -> None:  # pragma: no cover - console entry point wrapper
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)

