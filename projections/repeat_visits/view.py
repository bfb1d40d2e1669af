"""Read queries of the repeat-visit read model: alert lists, one alert, and the planner's
pre-check of a visit before it happens.

Alert lists are ordered newest first (``detected_at`` descending, then ``alert_key``
descending) and paged by keyset: :func:`alerts_page` follows ``graphql_api.relay.Page``
(``after``/``before`` sort keys, ``limit``, ``reverse``), with :func:`alert_sort_key` as the
row's key; :func:`alerts` is the same with an opaque cursor string, for callers outside GraphQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Final
from uuid import UUID, uuid5

from domain.identifiers import region_range
from lianxin.storage import Connection

from .alerts import Alert, AlertKind, utc_text
from .facts import OPEN_STATE_VALUES, VisitFact
from .records import (
    ALERT_COLUMNS,
    ISSUE_COLUMNS,
    VISIT_COLUMNS,
    alert_from_row,
    declarations_from_json,
    issue_from_row,
    visit_from_row,
)
from .rules import (
    Thresholds,
    detect_quiet_day_breach,
    detect_repeated_investigation,
    detect_swarm,
)

__all__ = [
    "ORDER",
    "AlertFilter",
    "AlertPage",
    "alert",
    "alert_sort_key",
    "alerts",
    "alerts_page",
    "count_alerts",
    "precheck_visit",
]

#: The ordering name for cursors (``graphql_api.relay.Page.of(order=ORDER)``).
ORDER: Final = "alerts_detected_desc"
#: Pre-check results carry this status (stored alerts are ``open``).
PRECHECK_STATUS: Final = "warning"
_PRECHECK_NAMESPACE: Final = UUID("6f1d8e52-35a4-4f3b-9a0c-7e2f61b0c1aa")
_OPEN_LIST: Final = tuple(sorted(OPEN_STATE_VALUES))


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts: any of ``kinds`` (all when empty), in the ``region`` subtree, concerning
    ``enterprise_id`` (a common problem concerns each of its enterprises) or ``department``
    (visiting or handling), of ``category``, detected in ``[since, until)``."""

    kinds: tuple[AlertKind, ...] = ()
    region: str | None = None
    enterprise_id: UUID | None = None
    department: str | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AlertPage:
    alerts: tuple[Alert, ...]
    end_cursor: str | None
    has_next_page: bool


def alert_sort_key(alert: Alert) -> tuple[datetime, str]:
    """The key :func:`alerts_page` pages by (for ``Connection.from_rows(key=...)``)."""
    return (alert.detected_at, alert.key)


def _where(f: AlertFilter) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if f.kinds:
        names = []
        for i, kind in enumerate(f.kinds):
            params[f"kind{i}"] = str(AlertKind(kind))
            names.append(f":kind{i}")
        clauses.append(f"a.kind IN ({', '.join(names)})")
    if f.region:
        params["low"], params["high"] = region_range(f.region)
        clauses.append("a.region_code >= :low AND a.region_code < :high")
    if f.enterprise_id is not None:
        params["enterprise"] = str(f.enterprise_id)
        clauses.append(
            "EXISTS (SELECT 1 FROM repeat_visit_alert_links l WHERE l.alert_key = a.alert_key"
            " AND l.link = 'enterprise' AND l.value = :enterprise)"
        )
    if f.department:
        params["department"] = f.department
        clauses.append(
            "EXISTS (SELECT 1 FROM repeat_visit_alert_links d WHERE d.alert_key = a.alert_key"
            " AND d.link = 'department' AND d.value = :department)"
        )
    if f.category:
        params["category"] = f.category
        clauses.append("a.category = :category")
    for moment in (f.since, f.until):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{moment.isoformat()} must carry a timezone (e.g. +08:00)")
    if f.since is not None:
        params["since"] = utc_text(f.since)
        clauses.append("a.detected_at >= :since")
    if f.until is not None:
        params["until"] = utc_text(f.until)
        clauses.append("a.detected_at < :until")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _key_params(key: Sequence[object], name: str) -> dict[str, Any]:
    if len(key) != 2:
        raise ValueError(f"an alert sort key is (detected_at, alert_key), not {key!r}")
    moment, alert_key = key
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime) or not isinstance(alert_key, str):
        raise ValueError(f"an alert sort key is (detected_at, alert_key), not {key!r}")
    return {f"{name}_at": utc_text(moment), f"{name}_key": alert_key}


def alerts_page(
    conn: Connection,
    filters: AlertFilter = AlertFilter(),
    *,
    after: Sequence[object] | None = None,
    before: Sequence[object] | None = None,
    limit: int = 21,
    reverse: bool = False,
) -> list[Alert]:
    """Up to ``limit`` alerts in list order (newest first), or in the opposite order when
    ``reverse``; strictly after ``after`` and before ``before`` (sort keys from
    :func:`alert_sort_key`, or their JSON form from a cursor)."""
    where, params = _where(filters)
    bounds = []
    if after is not None:
        params |= _key_params(after, "after")
        bounds.append("(a.detected_at, a.alert_key) < (:after_at, :after_key)")
    if before is not None:
        params |= _key_params(before, "before")
        bounds.append("(a.detected_at, a.alert_key) > (:before_at, :before_key)")
    if bounds:
        where = (where + " AND " if where else " WHERE ") + " AND ".join(bounds)
    direction = "ASC" if reverse else "DESC"
    params["limit"] = max(0, int(limit))
    rows = conn.execute(
        f"SELECT {_columns('a')} FROM repeat_visit_alerts a{where}"
        f" ORDER BY a.detected_at {direction}, a.alert_key {direction} LIMIT :limit",
        params,
    ).fetchall()
    return [alert_from_row(r) for r in rows]


def count_alerts(conn: Connection, filters: AlertFilter = AlertFilter()) -> int:
    where, params = _where(filters)
    row = conn.execute(f"SELECT COUNT(*) FROM repeat_visit_alerts a{where}", params).fetchone()
    return int(row[0])


def alert(conn: Connection, key: str) -> Alert | None:
    """One alert by its key (None when there is none)."""
    row = conn.execute(
        f"SELECT {ALERT_COLUMNS} FROM repeat_visit_alerts WHERE alert_key = ?", (key,)
    ).fetchone()
    return None if row is None else alert_from_row(row)


def _columns(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in ALERT_COLUMNS.split(","))


def _encode(alert: Alert) -> str:
    text = json.dumps([ORDER, utc_text(alert.detected_at), alert.key])
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def _decode(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        order, moment, key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ValueError(f"{cursor!r} is not an alert cursor") from None
    if order != ORDER or not isinstance(moment, str) or not isinstance(key, str):
        raise ValueError(f"{cursor!r} is not an alert cursor")
    return moment, key


def alerts(
    conn: Connection,
    filters: AlertFilter = AlertFilter(),
    first: int = 20,
    after: str | None = None,
) -> AlertPage:
    """A page of ``first`` alerts, newest first, after the opaque cursor ``after``."""
    rows = alerts_page(
        conn, filters, after=None if after is None else _decode(after), limit=first + 1
    )
    kept = tuple(rows[:first])
    return AlertPage(
        alerts=kept,
        end_cursor=_encode(kept[-1]) if kept else None,
        has_next_page=len(rows) > first,
    )


# --- the pre-check -----------------------------------------------------------------------------


def precheck_visit(
    conn: Connection,
    *,
    enterprise_id: UUID,
    department: str,
    planned_for: date,
    category: str | None,
    requested_by_enterprise: bool,
    now: datetime,
    thresholds: Thresholds | None = None,
    visit_id: UUID | None = None,
) -> list[Alert]:
    """The warnings a planner should see before visiting: the rules of the read model applied
    to what is stored plus this hypothetical visit.

    - swarm, if this visit would make one: counted with the enterprise's conducted visits and
      its other planned (not cancelled) visits within the window;
    - quiet-day breach, if ``planned_for`` is a declared quiet day and the enterprise did not
      request the visit;
    - repeated investigation, if ``category`` is given and the enterprise has open issues of it
      handled by other departments.

    ``visit_id``: the plan being checked, if it is already recorded (it is then not counted
    twice). Results are not stored; their ``status`` is ``"warning"`` and ``detected_at`` is
    ``now``. Pass the same ``thresholds`` as the projection (default: from the environment).
    """
    t = Thresholds.from_env() if thresholds is None else thresholds
    found = conn.execute(
        "SELECT region_code, quiet_days FROM repeat_visit_enterprises WHERE enterprise_id = ?",
        (str(enterprise_id),),
    ).fetchone()
    region = "" if found is None else str(found[0])
    declarations = [] if found is None else declarations_from_json(found[1])
    me = visit_id or uuid5(
        _PRECHECK_NAMESPACE, f"{enterprise_id}:{department}:{planned_for.isoformat()}"
    )
    hypothetical = VisitFact(
        visit_id=me,
        enterprise_id=enterprise_id,
        department=department,
        on=planned_for,
        status="hypothetical",
        requested=requested_by_enterprise,
        region_code=region,
    )
    reach = timedelta(days=t.swarm_window_days - 1)
    rows = conn.execute(
        f"SELECT {VISIT_COLUMNS} FROM repeat_visit_visits WHERE enterprise_id = ?"
        " AND status IN ('conducted', 'planned') AND visit_on >= ? AND visit_on <= ?",
        (str(enterprise_id), (planned_for - reach).isoformat(), (planned_for + reach).isoformat()),
    ).fetchall()
    visits = [v.fact() for v in map(visit_from_row, rows) if v.visit_id != me]
    warnings: list[Alert | None] = [
        detect_swarm(visits, hypothetical, t, detected_at=now),
        detect_quiet_day_breach(hypothetical, declarations, detected_at=now),
    ]
    if category:
        marks = ", ".join("?" * len(_OPEN_LIST))
        issues = conn.execute(
            f"SELECT {ISSUE_COLUMNS} FROM repeat_visit_issues WHERE enterprise_id = ?"
            f" AND category = ? AND state IN ({marks})",
            (str(enterprise_id), category, *_OPEN_LIST),
        ).fetchall()
        warnings.append(
            detect_repeated_investigation(
                hypothetical,
                [category],
                [issue_from_row(r).fact() for r in issues],
                detected_at=now,
            )
        )
    return [replace(w, status=PRECHECK_STATUS) for w in warnings if w is not None]
