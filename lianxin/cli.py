"""The ``lianxin`` command: one console entry point with subcommands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lianxin.config import ConfigError, Settings

if TYPE_CHECKING:
    from projections.machinery import Projection, ProjectionStatus


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
@click.option(
    "--app-role",
    envvar="LIANXIN_APP_ROLE",
    default=None,
    help="PostgreSQL: grant this existing role only what the application needs (it can append "
    "events, never change or remove them). Env: LIANXIN_APP_ROLE.",
)
def migrate(app_role: str | None) -> None:
    """Create every table once (idempotent; safe to run from several processes)."""
    from lianxin.migrate import migrate as run_migrations
    from lianxin.storage import StorageConfigError

    settings = _settings()
    try:
        applied = run_migrations(settings.database, app_role=app_role or None)
    except StorageConfigError as e:
        raise click.ClickException(str(e)) from None
    if applied:
        for name in applied:
            click.echo(f"applied {name}")
    else:
        click.echo("schema is up to date")
    if app_role:
        click.echo(f"granted {app_role} the application's privileges (append-only event log)")


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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Load the seed-story demo campaign into an empty store.")
@click.option(
    "--projections/--no-projections",
    "in_process",
    default=True,
    show_default=True,
    help="Run the projections in this process (off when `lianxin project` runs them).",
)
def serve(host: str, port: int, demo: bool, in_process: bool) -> None:
    """The main job: the GraphQL API (with its projections) on the configured store.

    LIANXIN_ENV defaults to development here (GraphiQL on, a development JWT secret unless
    LIANXIN_JWT_SECRET is set); set LIANXIN_ENV=production in production.
    """
    import os

    import uvicorn

    from graphql_api.app import ApiSettings
    from graphql_api.serving import uvicorn_options
    from lianxin.asgi import build_api
    from lianxin.migrate import migrate as run_migrations

    os.environ.setdefault("LIANXIN_ENV", "development")
    settings = _settings()
    try:
        api_settings = ApiSettings.from_env()
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    run_migrations(settings.database)
    if demo:
        _load_demo(settings)
    try:
        api = build_api(settings, api_settings, run_projections=in_process)
    except ConfigError as e:  # e.g. checkpoints configured without their key
        raise click.ClickException(str(e)) from None
    click.echo(f"Lianxin on http://{host}:{port}/graphql ({settings.database.kind})", err=True)
    uvicorn.run(
        api.app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        **uvicorn_options(api_settings.limits),
    )


def _load_demo(settings: Settings) -> None:
    from lianxin.bootstrap import build_application
    from lianxin.demo import load_demo

    app = build_application(settings)
    try:
        if app.head() > 0:
            click.echo("the store is not empty: the demo is not loaded again", err=True)
            return
        demo = load_demo(app)
        click.echo(f"demo campaign loaded: {demo.position} events", err=True)
    finally:
        app.close()


@main.command()
@click.option("--user", "user_id", required=True, help="User id (e.g. jy.dispatcher.zhao).")
@click.option(
    "--role",
    required=True,
    type=click.Choice(
        ["cadre", "dispatcher", "handler", "leader", "inspector", "auditor", "admin"]
    ),
)
@click.option("--region", default=None, help="Region scope (GB/T 2260 code, e.g. 419001).")
@click.option("--department", default=None, help="Department code (e.g. 419001.tax).")
@click.option("--ttl", default="8h", show_default=True, help="Lifetime: 30m, 8h, 7d.")
def token(user_id: str, role: str, region: str | None, department: str | None, ttl: str) -> None:
    """Mint a development token (signed with LIANXIN_JWT_SECRET, or the development secret)."""
    import os

    from domain.common import Role
    from graphql_api.auth import JwtSettings, Principal
    from lianxin.tokens import mint_token, parse_ttl

    os.environ.setdefault("LIANXIN_ENV", "development")
    try:
        principal = Principal(
            user_id=user_id, role=Role(role), region=region, department=department
        )
        text = mint_token(JwtSettings.from_env(os.environ), principal, ttl=parse_ttl(ttl))
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(text)


@main.command()
@click.option("--enterprises", default=1000, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=90, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--bulk/--commands",
    default=True,
    show_default=True,
    help="Many events per transaction (millions of events), or one command at a time.",
)
def simulate(enterprises: int, days: int, seed: int, bulk: bool) -> None:
    """Record a realistic, deterministic campaign into an empty store (for demos and benchmarks)."""
    from lianxin.bootstrap import build_application
    from lianxin.migrate import migrate as run_migrations
    from lianxin.simulate import SimulationError
    from lianxin.simulate import simulate as run_simulation

    settings = _settings()
    run_migrations(settings.database)
    app = build_application(settings)
    try:
        report = run_simulation(
            app, enterprises=enterprises, days=days, seed=seed, progress=True, bulk=bulk
        )
    except SimulationError as e:
        raise click.ClickException(str(e)) from None
    finally:
        app.close()
    click.echo(str(report))


@main.command("schema")
@click.option("--check", is_flag=True, help="Exit 1 if schema.graphql differs (CI drift check).")
@click.argument("path", default="schema.graphql", type=click.Path(dir_okay=False, path_type=Path))
def schema_command(check: bool, path: Path) -> None:
    """Write the GraphQL SDL (the API's public contract) to PATH, or check it is current."""
    from graphql_api.sdl import current_sdl

    sdl = current_sdl()
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != sdl:
            raise click.ClickException(f"{path} is out of date: run `lianxin schema {path}`")
        click.echo(f"{path} is current")
        return
    path.write_text(sdl, encoding="utf-8")
    click.echo(f"wrote {path}")


@main.command()
@click.option("--projection", "names", multiple=True, help="Only these (default: all).")
@click.option("--page-size", default=500, show_default=True, help="Events per transaction.")
def project(names: tuple[str, ...], page_size: int) -> None:
    """Run the projections as their own process (production), until interrupted.

    Several may run at once: each projection is run by one of them, the others stand by.
    """
    import signal
    import threading

    from lianxin.projection_process import RunnerOptions, run_projections

    settings = _settings()
    projections = _chosen(names, settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"projecting {', '.join(p.name for p in projections)}", err=True)
    try:
        run_projections(settings, projections, stop, options=RunnerOptions(page_size=page_size))
    except ConfigError as e:  # e.g. checkpoints configured without their key
        raise click.ClickException(str(e)) from None


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Each projection's position, the log's head and the lag (events and seconds)."""
    import json

    from lianxin.bootstrap import build_application
    from lianxin.projection_process import projection_status

    settings = _settings()
    app = build_application(settings)
    try:
        rows = projection_status(settings, _chosen((), settings), app=app)
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps([_status_dict(r) for r in rows], ensure_ascii=False, indent=2))
        return
    click.echo(f"{'projection':<20} {'position':>10} {'head':>10} {'lag':>8} {'lag s':>8}  error")
    for r in rows:
        click.echo(
            f"{r.name:<20} {r.position:>10} {r.head:>10} {r.lag_events:>8} "
            f"{r.lag_seconds:>8.1f}  {r.error or ''}"
        )


@main.command()
@click.argument("name")
@click.option(
    "--swap",
    is_flag=True,
    help="Build the new tables beside the live ones (the API keeps reading the old) and swap "
    "them in atomically.",
)
def rebuild(name: str, swap: bool) -> None:
    """Empty one read model and replay it from the start of the log (with --swap: rebuild it
    beside the live one while it keeps being read, then swap it in)."""
    if swap:
        from lianxin.replay.cli import rebuild_swap

        rebuild_swap(name)
        return
    from lianxin.bootstrap import build_calendar
    from lianxin.projection_process import rebuild_projection
    from projections.registry import projection_named

    settings = _settings()
    try:
        projection = projection_named(name, build_calendar(settings))
    except KeyError as e:
        raise click.ClickException(str(e.args[0])) from None
    rebuild_projection(settings, projection)
    click.echo(f"{name}: emptied; its runner replays it from the start")


def _chosen(names: tuple[str, ...], settings: Settings | None = None) -> list[Projection]:
    """The named projections (default: all), counting working days on the configured calendar."""
    from lianxin.bootstrap import build_calendar
    from projections.registry import all_projections, projection_named

    calendar = build_calendar(settings or _settings())
    if not names:
        return all_projections(calendar)
    try:
        return [projection_named(n, calendar) for n in names]
    except KeyError as e:
        raise click.ClickException(str(e.args[0])) from None


def _status_dict(row: ProjectionStatus) -> dict[str, object]:
    return {
        "projection": row.name,
        "position": row.position,
        "head": row.head,
        "lag_events": row.lag_events,
        "lag_seconds": row.lag_seconds,
        "caught_up": row.caught_up,
        "error": row.error,
    }


# --- Command groups that live in their own modules (one registration line each) ----------------

from lianxin.replay import cli as replay_cli  # noqa: E402  (replay, diff, history)

main.add_command(replay_cli.replay_command)
main.add_command(replay_cli.diff_command)
main.add_command(replay_cli.history_command)

from lianxin.integrity import commands as integrity_cli  # noqa: E402  (verify, checkpoint, export, import)

main.add_command(integrity_cli.verify_command)
main.add_command(integrity_cli.checkpoint_command)
main.add_command(integrity_cli.export_command)
main.add_command(integrity_cli.import_command)

from graphql_api.authorization_table import authorization_command  # noqa: E402  (AUTHORIZATION.md)

main.add_command(authorization_command)


def run() -> None:  # pragma: no cover - console entry point wrapper
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
