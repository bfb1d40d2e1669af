"""Authentication and scope: region prefixes, principals, token settings, and tokens over real
HTTP and WebSocket."""

from __future__ import annotations

import importlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.connection import Connection
from websockets.typing import Subprotocol

from domain.common import Forbidden, Role
from domain.identifiers import region_prefix
from graphql_api.auth import (
    DEV_SECRET,
    AuthConfigError,
    AuthError,
    JwtSettings,
    Principal,
    TokenVerifier,
    principal_claims,
    principal_from_claims,
)
from lianxin.tokens import mint_token, parse_ttl
from tests.api.conftest import TEST_SECRET, RunningApi, StartApi

VIEWER = "{ viewer { userId role region department readOnly } }"
TRANSPORT_WS = Subprotocol("graphql-transport-ws")

# --- Region scopes (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("410000", "41"),  # province
        ("411000", "4110"),  # a city: whole levels of zeros only, never "411"
        ("419000", "4190"),  # province-administered county-level units
        ("419001", "419001"),  # Jiyuan, a county-level city
        ("410102", "410102"),  # a district
        ("110100", "1101"),  # Beijing's 市辖区
        ("419001001", "419001001"),  # a town
        ("419001000", "419001"),  # a 9-digit code for the county itself
        ("41", "41"),
        ("4190", "4190"),
    ],
)
def test_region_prefix_drops_whole_levels_of_zeros(code: str, prefix: str) -> None:
    assert region_prefix(code) == prefix


@pytest.mark.parametrize(
    "code", ["", "4", "41000", "4100000", "41a000", "４１００００", "000000", " 410000"]
)
def test_region_prefix_refuses_what_is_not_a_region_code(code: str) -> None:
    with pytest.raises(ValueError, match="region code"):
        region_prefix(code)


@pytest.mark.parametrize(
    ("scope", "code", "visible"),
    [
        ("410000", "410102", True),  # province sees a district
        ("410000", "410000", True),  # … and its own record
        ("410000", "420100", False),  # … not another province
        ("411000", "411002", True),  # Xuchang sees its district
        ("411000", "411102", False),  # … NOT Luohe's (the naive "411" prefix would)
        ("411000", "410000", False),  # a city does not see the province-level record
        ("4190", "419001", True),
        ("4190", "419001001", True),
        ("419001", "419001001", True),  # a county sees its towns
        ("419001", "419002", False),
        ("419001001", "419001001", True),  # a town sees itself
        ("419001001", "419001", False),  # … not its county's record
        ("419001001", "419001002", False),
        ("419001", "not-a-code", False),
        ("4101", "41", False),  # a city cannot ask about the whole province
        ("41", "4101", True),  # scopes as targets: a province may ask about a city
    ],
)
def test_a_scope_sees_its_subtree_only(scope: str, code: str, visible: bool) -> None:
    principal = Principal("u", Role.CADRE, region=scope)
    assert principal.can_see_region(code) is visible


def test_without_a_region_every_region_is_visible() -> None:
    assert Principal("u", Role.AUDITOR).can_see_region("650100")


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        (Role.CADRE, {}, "cadre must be scoped to a region"),
        (Role.DISPATCHER, {"department": "tax"}, "dispatcher must be scoped to a region"),
        (Role.LEADER, {}, "leader must be scoped to a region"),
        (Role.HANDLER, {"region": "41"}, "handler must belong to a department"),
        (Role.ENTERPRISE, {"region": "41"}, "enterprise user must name its enterprise"),
        (Role.CADRE, {"region": "4"}, "not a region code"),
    ],
)
def test_a_principal_needs_the_scope_its_role_acts_in(
    role: Role, scope: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Principal("u", role, **scope)


def test_a_handler_sees_only_what_its_department_handles() -> None:
    handler = Principal("h", Role.HANDLER, region="419001", department="tax")
    cadre = Principal("c", Role.CADRE, region="419001", department="tax")
    assert handler.can_see(region="419001", departments=["tax", "land"])
    assert not handler.can_see(region="419001", departments=["land"])
    assert not handler.can_see(region="410102", departments=["tax"])
    assert cadre.can_see(region="419001", departments=["land"])  # a cadre's office does not narrow


def test_roles_are_required_and_auditors_never_write() -> None:
    auditor = Principal("a", Role.AUDITOR)
    assert auditor.is_read_only
    with pytest.raises(Forbidden, match="reads but never writes"):
        auditor.require_writer()
    with pytest.raises(Forbidden, match="needs one of: dispatcher"):
        auditor.require_role(Role.DISPATCHER)
    Principal("d", Role.DISPATCHER, region="41").require_role(Role.DISPATCHER, Role.ADMIN)


def test_claims_round_trip() -> None:
    principal = Principal("h", Role.HANDLER, region="419001", department="tax")
    claims = principal_claims(principal)
    assert claims == {"sub": "h", "role": "handler", "region": "419001", "department": "tax"}
    assert principal_from_claims(claims) == principal


def test_tokens_never_carry_the_system_role() -> None:
    with pytest.raises(AuthError, match="may not carry the role system"):
        principal_from_claims({"sub": "x", "role": "system"})


# --- Settings -------------------------------------------------------------------------------------


def test_production_refuses_to_start_without_a_key() -> None:
    with pytest.raises(AuthConfigError, match="no token key"):
        JwtSettings.from_env({})
    with pytest.raises(AuthConfigError, match="no token key"):
        JwtSettings.from_env({"LIANXIN_ENV": "production"})


def test_development_uses_a_built_in_secret_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="lianxin.api.auth"):
        settings = JwtSettings.from_env({"LIANXIN_ENV": "development"})
    assert settings.development
    assert settings.key == DEV_SECRET
    assert "Never use this in production" in caplog.text


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LIANXIN_JWT_SECRET": "short"}, "at least 32 characters"),
        ({"LIANXIN_JWT_SECRET": TEST_SECRET, "LIANXIN_JWT_PUBLIC_KEY": "x"}, "not both"),
        (
            {"LIANXIN_JWT_SECRET": TEST_SECRET, "LIANXIN_JWT_ALGORITHM": "RS256"},
            "needs LIANXIN_JWT_PUBLIC_KEY",
        ),
        (
            {"LIANXIN_JWT_SECRET": TEST_SECRET, "LIANXIN_JWT_ALGORITHM": "none"},
            "needs LIANXIN_JWT_PUBLIC_KEY",
        ),
        ({"LIANXIN_JWT_PUBLIC_KEY": "/nonexistent/key.pem"}, "cannot read"),
        ({"LIANXIN_ENV": "staging"}, "development or production"),
        ({"LIANXIN_JWT_SECRET": TEST_SECRET, "LIANXIN_JWT_LEEWAY": "soon"}, "LEEWAY"),
    ],
)
def test_unusable_token_settings_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        JwtSettings.from_env(environ)


def test_a_secret_from_the_environment() -> None:
    settings = JwtSettings.from_env(
        {"LIANXIN_JWT_SECRET": TEST_SECRET, "LIANXIN_JWT_ISSUER": "lianxin-idp"}
    )
    assert (settings.algorithm, settings.key, settings.issuer) == (
        "HS256",
        TEST_SECRET,
        "lianxin-idp",
    )
    assert TEST_SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("text", "ttl"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("8h", timedelta(hours=8)),
        ("7d", timedelta(days=7)),
    ],
)
def test_token_lifetimes(text: str, ttl: timedelta) -> None:
    assert parse_ttl(text) == ttl


@pytest.mark.parametrize("text", ["", "8", "0h", "1w", "-1h", "h8"])
def test_token_lifetimes_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a lifetime"):
        parse_ttl(text)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_public_key_tokens(algorithm: str, tmp_path: Path) -> None:
    """Needs ``cryptography`` (pyjwt[crypto]); without it the settings refuse to load."""
    if not jwt.algorithms.has_crypto:
        with pytest.raises(AuthConfigError, match="needs the 'cryptography' package"):
            JwtSettings(algorithm, "-----BEGIN PUBLIC KEY-----")
        pytest.skip("cryptography is not installed")
    # Imported by name: mypy must pass whether or not the optional package is installed.
    serialization = importlib.import_module("cryptography.hazmat.primitives.serialization")
    ec = importlib.import_module("cryptography.hazmat.primitives.asymmetric.ec")
    rsa = importlib.import_module("cryptography.hazmat.primitives.asymmetric.rsa")

    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    key_file = tmp_path / "jwt.pub"
    key_file.write_text(public_pem)
    for value in (public_pem, str(key_file)):
        settings = JwtSettings.from_env(
            {"LIANXIN_JWT_PUBLIC_KEY": value, "LIANXIN_JWT_ALGORITHM": algorithm}
        )
        principal = Principal("u", Role.LEADER, region="4101")
        token = mint_token(settings, principal, private_key=private_pem)
        assert TokenVerifier(settings).verify(token) == principal
        with pytest.raises(ValueError, match="signed with a private key"):
            mint_token(settings, principal)


def test_issuer_and_audience_are_checked_when_configured() -> None:
    strict = JwtSettings("HS256", TEST_SECRET, issuer="idp", audience="lianxin")
    loose = JwtSettings("HS256", TEST_SECRET)
    principal = Principal("u", Role.ADMIN)
    verifier = TokenVerifier(strict)
    assert verifier.verify(mint_token(strict, principal)) == principal
    with pytest.raises(AuthError, match="no 'iss' claim"):
        verifier.verify(mint_token(loose, principal))
    other_issuer = JwtSettings("HS256", TEST_SECRET, issuer="elsewhere", audience="lianxin")
    with pytest.raises(AuthError, match="Invalid issuer"):
        verifier.verify(mint_token(other_issuer, principal))
    other_audience = JwtSettings("HS256", TEST_SECRET, issuer="idp", audience="elsewhere")
    with pytest.raises(AuthError, match=r"Audience doesn't match"):
        verifier.verify(mint_token(other_audience, principal))


# --- Over HTTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [
        Role.CADRE,
        Role.DISPATCHER,
        Role.HANDLER,
        Role.LEADER,
        Role.INSPECTOR,
        Role.AUDITOR,
        Role.ADMIN,
        Role.ENTERPRISE,
    ],
)
def test_every_role_is_let_in_with_its_scope(api: RunningApi, role: Role) -> None:
    viewer = api.data(VIEWER, role=role)["viewer"]
    assert viewer["role"] == role.name
    assert viewer["readOnly"] is (role is Role.AUDITOR)
    if role is Role.CADRE:
        assert viewer["region"] == "419001"


def test_graphql_without_a_token_is_401(api: RunningApi) -> None:
    response = api.http.post("/graphql", json={"query": VIEWER})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="lianxin"'
    assert response.json() == {
        "errors": [
            {
                "message": "authentication required: send Authorization: Bearer <token>",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }


def bad_tokens(api: RunningApi) -> dict[str, tuple[str, str]]:
    admin = Principal("u", Role.ADMIN)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    other = JwtSettings("HS256", "another-secret-0123456789abcdefghijklmnopq")
    no_exp = jwt.encode({"sub": "u", "role": "admin"}, TEST_SECRET, algorithm="HS256")
    unsigned = jwt.encode({"sub": "u", "role": "admin", "exp": 9999999999}, "", algorithm="none")
    system = jwt.encode({"sub": "u", "role": "system", "exp": 9999999999}, TEST_SECRET)
    cadre_unscoped = jwt.encode({"sub": "u", "role": "cadre", "exp": 9999999999}, TEST_SECRET)
    return {
        "expired": (
            f"Bearer {mint_token(api.jwt, admin, ttl=timedelta(hours=1), now=long_ago)}",
            "token expired",
        ),
        "forged": (f"Bearer {mint_token(other, admin)}", "token signature is invalid"),
        "no expiry": (f"Bearer {no_exp}", "token has no 'exp' claim"),
        "alg none": (f"Bearer {unsigned}", "token is invalid"),
        "system role": (f"Bearer {system}", "may not carry the role system"),
        "no scope": (f"Bearer {cadre_unscoped}", "cadre must be scoped to a region"),
        "garbage": ("Bearer not.a.jwt", "token is invalid"),
        "basic auth": ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "forged",
        "no expiry",
        "alg none",
        "system role",
        "no scope",
        "garbage",
        "basic auth",
    ],
)
def test_invalid_tokens_are_401(api: RunningApi, case: str) -> None:
    header, message = bad_tokens(api)[case]
    response = api.http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="lianxin", error="invalid_token"'
    assert message in response.json()["errors"][0]["message"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_health_endpoints_need_no_token(api: RunningApi) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert api.http.get(path).status_code == 200, path


WRITE_NOTE = """mutation($text: String!) {
  writeNote(text: $text) { __typename ... on UserError { message code } }
}"""


def test_an_auditor_reads_but_never_writes(api: RunningApi) -> None:
    assert api.data(VIEWER, role=Role.AUDITOR)["viewer"]["readOnly"] is True
    body = api.post(WRITE_NOTE, {"text": "hi"}, role=Role.AUDITOR).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["message"] == "role auditor reads but never writes"


def test_a_role_the_command_does_not_allow_gets_the_forbidden_member(api: RunningApi) -> None:
    result = api.data(WRITE_NOTE, {"text": "hi"}, role=Role.LEADER)["writeNote"]
    assert result["__typename"] == "Forbidden"
    assert result["code"] == "FORBIDDEN"


def test_node_hides_what_is_outside_the_scope(api: RunningApi) -> None:
    query = "query($id: ID!) { node(id: $id) { id ... on Widget { name region } } }"
    ids = api.data("{ widgets(first: 2) { nodes { id region } } }")["widgets"]["nodes"]
    in_county = next(w for w in ids if w["region"] == "419001")
    elsewhere = next(w for w in ids if w["region"] != "419001")
    assert (
        api.data(query, {"id": in_county["id"]}, role=Role.CADRE)["node"]["id"] == in_county["id"]
    )
    assert api.data(query, {"id": elsewhere["id"]}, role=Role.CADRE)["node"] is None
    assert api.data(query, {"id": elsewhere["id"]}, role=Role.AUDITOR)["node"] is not None


# --- Over WebSocket -------------------------------------------------------------------------------


def init_message(key: str, value: str) -> str:
    return orjson.dumps({"type": "connection_init", "payload": {key: value}}).decode()


def open_ws(api: RunningApi) -> ClientConnection:
    return connect(api.ws_url, subprotocols=[TRANSPORT_WS], open_timeout=5)


def closed_with(ws: Connection) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_websocket_authenticates_in_connection_init(api: RunningApi) -> None:
    with open_ws(api) as ws:
        ws.send(init_message("Authorization", f"Bearer {api.token(Role.CADRE)}"))
        assert ws.recv(timeout=5) == '{"type":"connection_ack"}'
        ws.send(
            '{"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role region } }"}}'
        )
        assert ws.recv(timeout=5) == (
            '{"id":"1","type":"next","payload":{"data":{"viewer":{"role":"CADRE","region":"419001"}}}}'
        )


@pytest.mark.parametrize(
    "payload",
    [
        "{}",
        '{"authorization": "Bearer not.a.jwt"}',
        '{"authorization": 42}',
    ],
)
def test_websocket_without_a_valid_token_is_closed(api: RunningApi, payload: str) -> None:
    with open_ws(api) as ws:
        ws.send(f'{{"type": "connection_init", "payload": {payload}}}')
        assert closed_with(ws) == (4403, "Forbidden")


def test_an_auditor_cannot_write_over_websocket_either(api: RunningApi) -> None:
    with open_ws(api) as ws:
        ws.send(init_message("authorization", f"Bearer {api.token(Role.AUDITOR)}"))
        assert ws.recv(timeout=5) == '{"type":"connection_ack"}'
        query = 'mutation { writeNote(text: "x") { __typename } }'
        ws.send(
            orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).decode()
        )
        reply = orjson.loads(ws.recv(timeout=5))
    assert reply["type"] == "next"
    assert reply["payload"]["data"] is None
    assert reply["payload"]["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


def test_websocket_refuses_operations_before_connection_init(api: RunningApi) -> None:
    with open_ws(api) as ws:
        ws.send('{"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role } }"}}')
        assert closed_with(ws) == (4401, "Unauthorized")


def test_websocket_is_closed_when_its_token_expires(start_api: StartApi) -> None:
    api = start_api()
    token = api.token(Role.ADMIN, ttl=timedelta(seconds=3))  # exp in whole seconds: ≥ 2 s left
    with open_ws(api) as ws:
        ws.send(init_message("authorization", f"Bearer {token}"))
        assert ws.recv(timeout=5) == '{"type":"connection_ack"}'
        ws.send(
            '{"id": "t", "type": "subscribe", "payload": '
            '{"query": "subscription { ticks(count: 100, intervalMs: 200) }"}}'
        )
        received: list[str] = []
        with pytest.raises(ConnectionClosed) as closed:
            receive_all(ws, received)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "token expired")
        assert 1 <= len(received) < 100


def receive_all(ws: Connection, into: list[str]) -> None:
    while True:
        into.append(str(ws.recv(timeout=5)))
