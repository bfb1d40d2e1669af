"""The campaign of ``campaign.py``, recorded and projected once per test module, on SQLite and
PostgreSQL (the tests only read it; the rebuild tests put back what they empty)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import psycopg
import pytest

from domain.common import BEIJING
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.audit_trail import AuditTrail
from projections.issue_ledger import IssueLedger
from tests.conftest import POSTGRES_URL, FixedClock, require_postgres

from .campaign import Campaign, campaign_app, project, run_campaign


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def campaign(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Campaign]:
    """The campaign recorded, and the ledger and audit trail projected to the head."""
    base: DatabaseUrl | None = None
    if request.param == "sqlite":
        url = DatabaseUrl.parse(f"sqlite:///{tmp_path_factory.mktemp('campaign') / 'lx.db'}")
    else:
        require_postgres()
        base = DatabaseUrl.parse(POSTGRES_URL)
        url = DatabaseUrl(
            kind="postgres",
            host=base.host,
            port=base.port,
            user=base.user,
            password=base.password,
            dbname=base.dbname,
            schema=f"t_{uuid.uuid4().hex[:12]}",
        )
    clock = FixedClock(datetime(2025, 9, 30, 9, 0, tzinfo=BEIJING))
    app = campaign_app(url, clock)
    try:
        recorded = run_campaign(app, url, clock)
        project(recorded, IssueLedger(), AuditTrail())
        yield recorded
    finally:
        app.close()
        if base is not None:
            with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


@pytest.fixture
def conn(campaign: Campaign) -> Iterator[Connection]:
    connection = connect(campaign.url)
    yield connection
    connection.close()
