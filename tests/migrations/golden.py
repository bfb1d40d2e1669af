"""Golden stored events: files of events exactly as some version of Lianxin stored them.

A golden file is never edited. ``python -m tests.migrations.golden`` writes a file for every
(topic, class version) that has none yet, from a campaign that records every kind of event
(the demo plus the rarer directory changes and a command receipt); the tests then prove that
every file, old or new, still decodes to the same facts through today's classes and upcasters.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

import domain.directory
import domain.enterprise
import domain.issue
import domain.receipts
import domain.visit
from domain.application import Lianxin
from domain.common import Actor

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "migrations" / "golden"
MODULES = (domain.directory, domain.enterprise, domain.issue, domain.receipts, domain.visit)


def plain(value: Any) -> Any:
    """A decoded field as JSON-comparable data."""
    if isinstance(value, Actor):
        return value.as_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def event_classes() -> Iterator[type[CanMutateAggregate[UUID]]]:
    """Every stored event class of every aggregate (explicit topics only)."""
    for module in MODULES:
        for aggregate in vars(module).values():
            if not (isinstance(aggregate, type) and issubclass(aggregate, Aggregate)):
                continue
            home = aggregate.__module__
            # Its own module's, or its package's (domain.issue.aggregate), not an import.
            if home != module.__name__ and not home.startswith(f"{module.__name__}."):
                continue
            for name, cls in vars(aggregate).items():
                if name in ("Event", "Created") or not isinstance(cls, type):
                    continue
                topic = getattr(cls, "TOPIC", None)
                if issubclass(cls, CanMutateAggregate) and topic and resolve_topic(topic) is cls:
                    yield cls


def current_versions() -> dict[str, int]:
    return {cls.TOPIC: getattr(cls, "class_version", 1) for cls in event_classes()}  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Golden:
    path: Path
    topic: str
    class_version: int
    stored: StoredEvent
    expect: dict[str, Any]


def file_name(topic: str, class_version: int) -> str:
    return f"{topic}@v{class_version}.json"


def load_goldens() -> list[Golden]:
    goldens = []
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        stored = StoredEvent(
            originator_id=UUID(data["originator_id"]),
            originator_version=int(data["originator_version"]),
            topic=data["topic"],
            state=data["state"].encode("utf-8"),
        )
        goldens.append(
            Golden(path, data["topic"], int(data["class_version"]), stored, data["expect"])
        )
    return goldens


def record_everything(app: Lianxin) -> None:
    """The demo campaign, then the facts it does not produce."""
    from domain.common import Role
    from lianxin.demo import ADMIN, load_demo

    demo = load_demo(app)
    at = app.clock() - timedelta(days=1)
    app.rename_region(code="419001109", name="王屋镇（更名）", actor=ADMIN, at=at)
    app.retire_region(code="419001110", reason="区划调整", actor=ADMIN, at=at)
    app.rename_department(code="419001.sci", name="济源市科学技术局（更名）", actor=ADMIN, at=at)
    app.dissolve_department(code="419001.finance", reason="机构改革", actor=ADMIN, at=at)
    app.rename_user(user_id="jy.cadre.li", name="李娜娜", actor=ADMIN, at=at)
    app.change_user_role(
        user_id="jy.cadre.li", role=Role.DISPATCHER, region_code="419001400",
        department="419001400.dispatch", actor=ADMIN, at=at,
    )  # fmt: skip
    app.deactivate_user(user_id="jy.cadre.li", reason="调离", actor=ADMIN, at=at)
    hrss = Actor("tz.handler.hrss", Role.HANDLER, "331000.hrss")
    app.accept_issue(demo.issues["talent1"], actor=hrss, at=at, command_id="golden-receipt")


def write_missing(app: Lianxin) -> list[Path]:
    """Write a golden file for each (topic, version) without one; never touch existing files."""
    versions = current_versions()
    written: list[Path] = []
    seen: set[str] = set()
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        topic = notification.topic
        if topic in seen or topic not in versions:
            continue
        seen.add(topic)
        path = GOLDEN_DIR / file_name(topic, versions[topic])
        if path.exists():
            continue
        event = app.mapper.to_domain_event(notification)
        fields = {k: plain(v) for k, v in vars(event).items()}
        data = {
            "topic": topic,
            "class_version": versions[topic],
            "originator_id": str(notification.originator_id),
            "originator_version": notification.originator_version,
            "state": notification.state.decode("utf-8"),
            "expect": fields,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main() -> None:  # pragma: no cover - a maintenance script
    import tempfile

    from lianxin.bootstrap import build_application
    from lianxin.config import Settings
    from lianxin.migrate import migrate
    from lianxin.storage import DatabaseUrl

    with tempfile.TemporaryDirectory() as tmp:
        url = DatabaseUrl.parse(f"sqlite:///{tmp}/golden.db")
        migrate(url)
        app = build_application(Settings(database=url))
        record_everything(app)
        for path in write_missing(app):
            sys.stdout.write(f"wrote {path.name}\n")
        missing = sorted(set(current_versions()) - {g.topic for g in load_goldens()})
        if missing:
            sys.stdout.write(f"no example recorded for: {', '.join(missing)}\n")


if __name__ == "__main__":  # pragma: no cover
    main()
