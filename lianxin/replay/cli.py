"""The replay tools' commands: ``lianxin replay``, ``lianxin diff``, ``lianxin history`` (and the
body of ``lianxin rebuild NAME --swap``). Registered in ``lianxin/cli.py``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

import click

from lianxin.config import ConfigError, Settings
from lianxin.storage import DatabaseUrl, StorageConfigError

from .log import ReplayError

if TYPE_CHECKING:
    from domain.application import Lianxin
    from projections.machinery import Projection

    from .compare import TableDifference


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except (ConfigError, ValueError) as e:
        raise click.ClickException(str(e)) from None


@contextmanager
def _application(settings: Settings) -> Iterator[Lianxin]:
    from lianxin.bootstrap import build_application
    from lianxin.migrate import pending

    left = pending(settings.database)
    if left:
        raise click.ClickException(
            f"the store's schema is not current ({', '.join(left)} pending): run `lianxin migrate`"
        )
    app = build_application(settings)
    try:
        yield app
    finally:
        app.close()


def _projection(name: str, settings: Settings) -> Projection:
    from lianxin.bootstrap import build_calendar
    from projections.registry import projection_named

    try:
        return projection_named(name, build_calendar(settings))
    except KeyError as e:
        raise click.ClickException(str(e.args[0])) from None


def _url(text: str, option: str) -> DatabaseUrl:
    try:
        return DatabaseUrl.parse(text)
    except StorageConfigError as e:
        raise click.BadParameter(str(e), param_hint=option) from None


def _progress() -> bool:
    return sys.stderr.isatty()


@contextmanager
def _refusals() -> Iterator[None]:
    """Expected refusals and projection errors as one clear line, no traceback."""
    from projections.machinery import ProjectionError

    try:
        yield
    except (ReplayError, ProjectionError) as e:
        raise click.ClickException(str(e)) from None


# --- lianxin replay -----------------------------------------------------------------------------


@click.command("replay")
@click.argument("projection")
@click.option(
    "--until",
    "until_text",
    required=True,
    help="A recorded time (2025-10-01T18:00+08:00, …Z), a date (2025-10-01: the end of that "
    "Beijing day) or a log position (12345).",
)
@click.option(
    "--into",
    "into_text",
    required=True,
    help="The scratch store: sqlite:///scratch.db or postgresql://user@host/db?schema=replay_1.",
)
@click.option(
    "--continue",
    "carry_on",
    is_flag=True,
    help="Carry a scratch store that stands before --until forward instead of rebuilding it.",
)
@click.option("--page-size", default=2000, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def replay_command(
    projection: str, until_text: str, into_text: str, carry_on: bool, page_size: int, as_json: bool
) -> None:
    """Build PROJECTION as it stood at --until in a scratch store (the live store is only read).

    "As it stood at T" is every event recorded at or before T: the log up to the last position
    recorded at or before T.
    """
    from .log import parse_until
    from .replay import replay

    settings = _settings()
    into = _url(into_text, "--into")
    chosen = _projection(projection, settings)
    with _refusals():
        until = parse_until(until_text)
        with _application(settings) as app:
            report = replay(
                app,
                chosen,
                into,
                until,
                live=settings.database,
                fresh=not carry_on,
                page_size=page_size,
                progress=_progress() and not as_json,
            )
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(str(report))


# --- lianxin diff -------------------------------------------------------------------------------


@click.command("diff")
@click.argument("projection")
@click.option(
    "--into",
    "into_text",
    default=None,
    help="Rebuild in this scratch store and keep it (default: a temporary one beside the live "
    "store: another SQLite file, or another schema of the same database).",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def diff_command(projection: str, into_text: str | None, limit: int, as_json: bool) -> None:
    """Rebuild PROJECTION from the log up to the live view's position and compare the two, table
    by table. Exits 1 when they differ, printing (at most --limit of) the rows that do."""
    from .diff import diff_projection

    settings = _settings()
    into = None if into_text is None else _url(into_text, "--into")
    chosen = _projection(projection, settings)
    with _refusals(), _application(settings) as app:
        report = diff_projection(
            app,
            settings.database,
            chosen,
            into=into,
            limit=limit,
            progress=_progress() and not as_json,
        )
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_diff(report.comparison.projection, report.captured.position, report)
    if not report.same:
        sys.exit(1)


def _print_diff(name: str, position: int, report: Any) -> None:
    comparison = report.comparison
    click.echo(
        f"{name} at position {position}: live view vs the log replayed "
        f"({report.replayed.events} events, {report.replayed.seconds:.2f} s)"
    )
    for table in comparison.tables:
        mark = "DIFFERS" if table.differs else "same"
        live, replayed = table.rows[1], table.rows[0]
        click.echo(f"  {table.table:<34} {live:>9} live {replayed:>9} replayed  {mark}")
    for table in comparison.differences:
        _print_table(table)
    if comparison.same:
        click.echo(f"{name}: the live view is what its log makes of it")
    else:
        tables = ", ".join(t.table for t in comparison.differences)
        click.echo(f"{name}: the live view differs from its log in {tables}")


def _print_table(table: TableDifference) -> None:
    click.echo(
        f"\n{table.table}: {table.only_right} row(s) only in the live view, "
        f"{table.only_left} only in the replayed one"
    )
    cols = list(table.columns)
    changed = table.changed()
    paired_left = {id(a) for a, _ in changed}
    paired_right = {id(b) for _, b in changed}
    for replayed, live in changed:
        key = ", ".join(f"{k}={replayed[cols.index(k)]}" for k in table.key)
        deltas = "; ".join(
            f"{c}: {live[i]!r} (live) ≠ {replayed[i]!r} (replayed)"
            for i, c in enumerate(cols)
            if live[i] != replayed[i]
        )
        click.echo(f"  ~ {key}: {deltas}")
    for row in table.right_rows:
        if id(row) not in paired_right:
            click.echo(f"  - live only:     {_row(cols, row)}")
    for row in table.left_rows:
        if id(row) not in paired_left:
            click.echo(f"  + replayed only: {_row(cols, row)}")
    shown = len(table.left_rows) + len(table.right_rows)
    if shown < table.only_left + table.only_right:
        click.echo(f"  … {table.only_left + table.only_right - shown} more")


def _row(cols: list[str], row: tuple[Any, ...]) -> str:
    return ", ".join(f"{c}={v!r}" for c, v in zip(cols, row, strict=True))


# --- lianxin history ----------------------------------------------------------------------------


@click.command("history")
@click.argument("issue_id")
@click.option(
    "--at",
    "at_text",
    default=None,
    help="Show the state as it stood then (recorded time: 2025-10-01T18:00+08:00, or a date "
    "for the end of that Beijing day). Default: now.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def history_command(issue_id: str, at_text: str | None, as_json: bool) -> None:
    """An issue's state at a time, and every step up to then: position, version, recorded time,
    actor and role, the step's name, and what it changed."""
    from .history import issue_history
    from .log import parse_until

    try:
        aggregate_id = UUID(issue_id.strip())
    except ValueError:
        raise click.BadParameter(f"{issue_id!r} is not an issue id (a UUID)") from None
    settings = _settings()
    with _refusals():
        at = None
        if at_text is not None:
            until = parse_until(at_text)
            if until.time is None:
                raise ReplayError("--at takes a time or a date, not a log position")
            at = until.time
        with _application(settings) as app:
            found = issue_history(app, settings.database, aggregate_id, at)
    if as_json:
        click.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
        return
    when = "now" if found.at is None else found.at.isoformat()
    click.echo(f"{found.kind} {found.aggregate_id} as of {when}: version {found.version}")
    if not found.version:
        click.echo("  (not raised yet at that time)")
    for name, value in found.state.items():
        click.echo(f"  {name:<28} {_shown(value)}")
    click.echo(f"\nsteps ({len(found.steps)}):")
    for step in found.steps:
        click.echo("  " + step.line())
    if found.later:
        click.echo(f"  … {found.later} later step(s) recorded after {when}")


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "∅" if value is None else str(value)


# --- lianxin rebuild NAME --swap ----------------------------------------------------------------


def rebuild_swap(name: str) -> None:
    """The body of ``lianxin rebuild NAME --swap``."""
    from .swap import rebuild_and_swap

    settings = _settings()
    chosen = _projection(name, settings)
    with _refusals(), _application(settings) as app:
        report = rebuild_and_swap(app, settings.database, chosen, progress=_progress())
    click.echo(str(report))
