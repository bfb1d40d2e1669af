"""Load an org directory file (JSON) into the application.

The file reads::

    {"regions":     [{"code": "419001", "name": "济源市"}, ...],
     "departments": [{"code": "419001.tax", "name": "济源市税务局", "region": "419001"}, ...],
     "users":       [{"id": "jy.cadre.wang", "name": "王磊", "role": "cadre",
                      "region": "419001005", "department": null}, ...]}

An optional top-level ``"about"`` is for people. Loading is idempotent: an entry the directory
already holds unchanged records nothing; a changed name, role or scope is recorded as the event
it is (renamed, role changed). The whole file is checked before anything is written, and every
error names the entry (``users[3] (jy.cadre.wang)``). Entries missing from the file are left
alone: a file may describe one city.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, NoReturn

from domain.common import Actor, DomainError, Role, require_text
from domain.directory import MAX_NAME, USER_ROLES, validate_department_code, validate_user_id
from domain.identifiers import parent_region, region_level, validate_region_code
from domain.services.directory import DirectoryService

__all__ = ["DirectoryFileError", "LoadReport", "load_directory", "read_directory_file"]

_SECTIONS: Final = ("regions", "departments", "users")
_KEYS: Final = {
    "regions": ({"code", "name"}, {"note"}),
    "departments": ({"code", "name"}, {"region", "note"}),
    "users": ({"id", "name", "role", "region"}, {"department", "note"}),
}
_LEVEL_ORDER: Final = {"province": 0, "city": 1, "county": 2, "town": 3}


class DirectoryFileError(ValueError):
    """The file cannot be loaded; the message names the file, the entry and what is wrong."""

    def __init__(self, path: Path, entry: str, message: str) -> None:
        super().__init__(f"{path}: {entry}: {message}")
        self.path = path
        self.entry = entry
        self.message = message


@dataclass(frozen=True)
class RegionEntry:
    label: str
    code: str
    name: str


@dataclass(frozen=True)
class DepartmentEntry:
    label: str
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class UserEntry:
    label: str
    user_id: str
    name: str
    role: Role
    region: str
    department: str | None


@dataclass(frozen=True)
class DirectoryFile:
    """A checked directory file: every entry well-formed, no code twice."""

    path: Path
    regions: tuple[RegionEntry, ...]
    departments: tuple[DepartmentEntry, ...]
    users: tuple[UserEntry, ...]


@dataclass
class Tally:
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged"


@dataclass
class LoadReport:
    """What a load recorded, per section; ``notes`` lists entries deliberately left alone."""

    path: Path
    regions: Tally = field(default_factory=Tally)
    departments: Tally = field(default_factory=Tally)
    users: Tally = field(default_factory=Tally)
    notes: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        """How many entries were added or changed (0 when the file was loaded before)."""
        return sum(t.added + t.changed for t in (self.regions, self.departments, self.users))

    def __str__(self) -> str:
        lines = [
            f"{self.path}: regions {self.regions}; departments {self.departments}; "
            f"users {self.users}",
            *(f"  note: {note}" for note in self.notes),
        ]
        return "\n".join(lines)


# --- reading and checking the file --------------------------------------------------------------


def read_directory_file(path: Path | str) -> DirectoryFile:
    """The file's entries, checked on their own (not yet against the directory)."""
    source = Path(path)
    fail = _failer(source)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as e:
        raise DirectoryFileError(source, "file", f"cannot be read: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DirectoryFileError(source, "file", f"is not JSON in UTF-8: {e}") from None
    if not isinstance(data, dict):
        fail("file", "must be a JSON object with regions, departments, users")
    unknown = sorted(set(data) - {*_SECTIONS, "about"})
    if unknown:
        fail("file", f"unknown section {unknown[0]!r} (expected {', '.join(_SECTIONS)})")
    sections: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for section in _SECTIONS:
        entries = data.get(section, [])
        if not isinstance(entries, list):
            fail(section, "must be a list")
        sections[section] = [
            (_label(section, i, entry), _entry(fail, section, i, entry))
            for i, entry in enumerate(entries)
        ]

    regions = [_region(fail, label, e) for label, e in sections["regions"]]
    departments = [_department(fail, label, e) for label, e in sections["departments"]]
    users = [_user(fail, label, e) for label, e in sections["users"]]
    for entries in (
        [(r.label, r.code) for r in regions],
        [(d.label, d.code) for d in departments],
        [(u.label, u.user_id) for u in users],
    ):
        seen: dict[str, str] = {}
        for label, key in entries:
            if key in seen:
                fail(label, f"'{key}' is already listed as {seen[key]}")
            seen[key] = label
    return DirectoryFile(
        path=source,
        regions=tuple(sorted(regions, key=lambda r: (_LEVEL_ORDER[region_level(r.code)], r.code))),
        departments=tuple(departments),
        users=tuple(users),
    )


Fail = Callable[[str, str], NoReturn]


def _failer(path: Path) -> Fail:
    def fail(entry: str, message: str) -> NoReturn:
        raise DirectoryFileError(path, entry, message)

    return fail


def _label(section: str, index: int, entry: object) -> str:
    key = "id" if section == "users" else "code"
    if isinstance(entry, dict) and isinstance(entry.get(key), str):
        return f"{section}[{index}] ({entry[key]})"
    return f"{section}[{index}]"


def _entry(fail: Fail, section: str, index: int, entry: object) -> Mapping[str, Any]:
    label = _label(section, index, entry)
    if not isinstance(entry, dict):
        fail(label, "must be a JSON object")
    required, optional = _KEYS[section]
    missing = sorted(required - set(entry))
    if missing:
        fail(label, f"'{missing[0]}' is missing")
    unknown = sorted(set(entry) - required - optional)
    if unknown:
        fail(label, f"unknown key '{unknown[0]}'")
    return entry


@contextmanager
def _naming(fail: Fail, label: str) -> Iterator[None]:
    """A domain refusal inside becomes a file error naming the entry."""
    try:
        yield
    except DomainError as e:
        fail(label, e.message)


def _checked(fail: Fail, label: str, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except DomainError as e:
        fail(label, e.message)


def _region(fail: Fail, label: str, entry: Mapping[str, Any]) -> RegionEntry:
    code = _checked(fail, label, lambda: validate_region_code("code", entry["code"]))
    name = _checked(fail, label, lambda: require_text("name", entry["name"], max_length=MAX_NAME))
    return RegionEntry(label=label, code=code, name=name)


def _department(fail: Fail, label: str, entry: Mapping[str, Any]) -> DepartmentEntry:
    code = _checked(fail, label, lambda: validate_department_code("code", entry["code"]))
    name = _checked(fail, label, lambda: require_text("name", entry["name"], max_length=MAX_NAME))
    region = code.partition(".")[0]
    if entry.get("region", region) != region:
        fail(label, f"region '{entry['region']}' must be the code's prefix '{region}'")
    return DepartmentEntry(label=label, code=code, name=name, region=region)


def _user(fail: Fail, label: str, entry: Mapping[str, Any]) -> UserEntry:
    user_id = _checked(fail, label, lambda: validate_user_id("id", entry["id"]))
    name = _checked(fail, label, lambda: require_text("name", entry["name"], max_length=MAX_NAME))
    try:
        role = Role(entry["role"])
    except ValueError:
        role = None
    if role is None or role not in USER_ROLES:
        fail(label, f"role {entry['role']!r} is not one of {', '.join(USER_ROLES)}")
    region = _checked(fail, label, lambda: validate_region_code("region", entry["region"]))
    department = entry.get("department") or None
    if department is not None:
        department = _checked(
            fail, label, lambda: validate_department_code("department", department)
        )
    if role is Role.HANDLER and department is None:
        fail(label, "a department handler must name a department")
    return UserEntry(
        label=label,
        user_id=user_id,
        name=name,
        role=role,
        region=region,
        department=department,
    )


# --- loading ------------------------------------------------------------------------------------


def load_directory(
    app: DirectoryService,
    path: Path | str,
    *,
    actor: Actor,
    at: datetime | None = None,
) -> LoadReport:
    """Bring the directory in line with the file: add what is new, record what changed."""
    directory = read_directory_file(path)
    fail = _failer(directory.path)
    _check_references(app, directory, fail)
    report = LoadReport(path=directory.path)
    for region in directory.regions:
        with _naming(fail, region.label):
            _load_region(app, region, report, actor, at)
    for department in directory.departments:
        with _naming(fail, department.label):
            _load_department(app, department, report, actor, at)
    for user in directory.users:
        with _naming(fail, user.label):
            _load_user(app, user, report, actor, at)
    return report


def _check_references(app: DirectoryService, directory: DirectoryFile, fail: Fail) -> None:
    """Every parent region, department region and user scope is in the file or the directory
    (and not retired or dissolved there)."""
    regions = {r.code for r in directory.regions}
    departments = {d.code for d in directory.departments}

    def known_region(code: str) -> bool:
        if code in regions:
            return True
        region = app.find_region(code)
        return region is not None and not region.retired

    def known_department(code: str) -> bool:
        if code in departments:
            return True
        department = app.find_department(code)
        return department is not None and not department.dissolved

    for region in directory.regions:
        parent = parent_region(region.code)
        if parent is not None and not known_region(parent):
            fail(region.label, f"parent region {parent} is neither in the file nor the directory")
    for department in directory.departments:
        if not known_region(department.region):
            fail(department.label, f"region {department.region} is unknown")
    for user in directory.users:
        if not known_region(user.region):
            fail(user.label, f"region {user.region} is unknown")
        if user.department is not None and not known_department(user.department):
            fail(user.label, f"department {user.department} is unknown")


def _load_region(
    app: DirectoryService, entry: RegionEntry, report: LoadReport, actor: Actor, at: datetime | None
) -> None:
    known = app.find_region(entry.code)
    if known is None:
        app.add_region(code=entry.code, name=entry.name, actor=actor, at=at)
        report.regions.added += 1
    elif known.retired:
        report.notes.append(f"{entry.label}: retired in the directory, left alone")
    elif known.name != entry.name:
        app.rename_region(code=entry.code, name=entry.name, actor=actor, at=at)
        report.regions.changed += 1
    else:
        report.regions.unchanged += 1


def _load_department(
    app: DirectoryService,
    entry: DepartmentEntry,
    report: LoadReport,
    actor: Actor,
    at: datetime | None,
) -> None:
    known = app.find_department(entry.code)
    if known is None:
        app.add_department(code=entry.code, name=entry.name, actor=actor, at=at)
        report.departments.added += 1
    elif known.dissolved:
        report.notes.append(f"{entry.label}: dissolved in the directory, left alone")
    elif known.name != entry.name:
        app.rename_department(code=entry.code, name=entry.name, actor=actor, at=at)
        report.departments.changed += 1
    else:
        report.departments.unchanged += 1


def _load_user(
    app: DirectoryService, entry: UserEntry, report: LoadReport, actor: Actor, at: datetime | None
) -> None:
    known = app.find_user(entry.user_id)
    if known is None:
        app.add_user(
            user_id=entry.user_id,
            name=entry.name,
            role=entry.role,
            region_code=entry.region,
            department=entry.department,
            actor=actor,
            at=at,
        )
        report.users.added += 1
        return
    if not known.active:
        report.notes.append(f"{entry.label}: deactivated in the directory, not reactivated")
        return
    # Read before writing: the looked-up instance is the cache's and moves with new events.
    name, scope = known.name, (known.role, known.region_code, known.department)
    changed = False
    if name != entry.name:
        app.rename_user(user_id=entry.user_id, name=entry.name, actor=actor, at=at)
        changed = True
    if scope != (entry.role, entry.region, entry.department):
        app.change_user_role(
            user_id=entry.user_id,
            role=entry.role,
            region_code=entry.region,
            department=entry.department,
            actor=actor,
            at=at,
        )
        changed = True
    if changed:
        report.users.changed += 1
    else:
        report.users.unchanged += 1
