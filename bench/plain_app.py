"""The baseline web app of the HTTP benchmarks: plain Starlette on the same uvicorn, no GraphQL,
no application, no auth. ``uvicorn --factory bench.plain_app:create_app``.

- ``POST /insert``: one raw row (``BENCH_STATE_BYTES`` bytes of state) into the benchmark's raw
  table of ``LIANXIN_DATABASE_URL`` (PostgreSQL), one transaction, from a pool of async
  connections; answers a small JSON body.
- ``GET /bytes/{name}``: the bytes of ``$BENCH_BYTES_DIR/{name}`` as ``application/json`` (the
  same bytes the API answered for a read, served with no work).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.harness import RAW_TABLE
from lianxin.storage import DatabaseUrl

POOL = 8


def create_app() -> Starlette:
    url = DatabaseUrl.parse(os.environ["LIANXIN_DATABASE_URL"])
    state = os.urandom(int(os.environ.get("BENCH_STATE_BYTES", "400")))
    folder = Path(os.environ.get("BENCH_BYTES_DIR", "."))
    files = {p.name: p.read_bytes() for p in folder.glob("*.json")} if folder.is_dir() else {}
    pool: asyncio.Queue[psycopg.AsyncConnection[object]] = asyncio.Queue()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if url.kind == "postgres":
            for _ in range(POOL):
                conn = await psycopg.AsyncConnection.connect(
                    url.psycopg_conninfo(), autocommit=True
                )
                if url.schema:
                    await conn.execute(f'SET search_path TO "{url.schema}"')
                pool.put_nowait(conn)
        yield
        while not pool.empty():
            await pool.get_nowait().close()

    async def insert(request: Request) -> Response:
        await request.body()
        conn = await pool.get()
        try:
            await conn.execute(
                f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) "
                "VALUES (%s, 1, %s, %s)",
                (uuid.uuid4(), "lianxin.issue.raised", state),
            )
        finally:
            pool.put_nowait(conn)
        return JSONResponse({"data": {"inserted": True}})

    async def read_bytes(request: Request) -> Response:
        return Response(files[request.path_params["name"]], media_type="application/json")

    async def root(_: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/", root),
            Route("/insert", insert, methods=["POST"]),
            Route("/bytes/{name}", read_bytes),
        ],
        lifespan=lifespan,
    )
