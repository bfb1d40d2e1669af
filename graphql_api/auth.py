"""Who is asking, and what they may see: JWT bearer tokens turned into a :class:`Principal`.

A token carries the user id (``sub``), the role, and the scope: a region subtree (``region``)
and/or a department (``department``); an enterprise user's token names its enterprise.

Region scopes follow GB/T 2260: a 6-digit code is province (2) + city (2) + county (2), and
towns extend it to 9 digits. A scope is the code's *significant prefix*, found by dropping
whole levels of zeros, never single zeros::

    410000 → "41"      the province (Henan) and everything in it
    411000 → "4110"    the city of Xuchang; NOT "411", which would also match Luohe (4111xx)
    419000 → "4190"    province-administered county-level units (Jiyuan 419001 is inside)
    419001 → "419001"  the county itself and its towns (419001001 …)
    419001001          a town: itself only (9-digit codes ending in 000 mean the county)

A record is visible when the significant prefix of its region code starts with the scope's, so
a city cadre sees its counties and towns but not the province-level record (410000 → "41").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import jwt
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from domain.common import Actor, Forbidden, Role
from domain.identifiers import region_prefix

logger = logging.getLogger("lianxin.api.auth")

#: Used ONLY when ``LIANXIN_ENV=development`` and no key is configured: anyone can forge tokens.
DEV_SECRET = "lianxin-development-secret-do-not-use-in-production"  # noqa: S105 (public on purpose)
MIN_SECRET_LENGTH = 32
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: Roles that read but never write.
READ_ONLY_ROLES = frozenset({Role.AUDITOR})
#: Roles whose token must name a region subtree: they act for a place.
REGION_SCOPED_ROLES = frozenset({Role.CADRE, Role.DISPATCHER, Role.LEADER})
#: Roles whose visibility a department narrows (a handler sees what its department handles).
DEPARTMENT_SCOPED_ROLES = frozenset({Role.HANDLER})
#: Roles a token may never carry: the system acts only from inside the process.
TOKEN_FORBIDDEN_ROLES = frozenset({Role.SYSTEM})

Environment = Literal["development", "production"]


class AuthConfigError(ValueError):
    """The token settings are missing or unusable; the message names the setting."""


class AuthError(Exception):
    """A request's credentials are missing or invalid (HTTP 401); the message says why."""

    def __init__(self, message: str, *, token_presented: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.token_presented = token_presented


# --- Region scopes ------------------------------------------------------------------------------


def is_region_code(code: str) -> bool:
    try:
        region_prefix(code)
    except ValueError:
        return False
    return True


# --- The principal --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The authenticated user a request acts for: who, in which role, within which scope.

    ``region`` is the significant prefix of the region subtree (normalised on creation, so
    ``"410000"`` becomes ``"41"``); ``None`` means every region. ``department`` is the user's
    department code; for department-scoped roles (handlers) it also narrows what they see.
    """

    user_id: str
    role: Role
    region: str | None = None
    department: str | None = None
    enterprise: UUID | None = None
    #: Expiry of the credentials (seconds since the epoch), when known.
    expires_at: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not self.user_id.strip():
            raise ValueError("the principal needs a user id")
        role = Role(self.role)
        object.__setattr__(self, "role", role)
        if self.region is not None:
            object.__setattr__(self, "region", region_prefix(self.region))
        if self.department is not None and not self.department.strip():
            raise ValueError("department must not be blank")
        if role in REGION_SCOPED_ROLES and self.region is None:
            raise ValueError(f"a {role.value} must be scoped to a region")
        if role in DEPARTMENT_SCOPED_ROLES and self.department is None:
            raise ValueError(f"a {role.value} must belong to a department")
        if role is Role.ENTERPRISE and self.enterprise is None:
            raise ValueError("an enterprise user must name its enterprise")

    @property
    def actor(self) -> Actor:
        """The actor recorded in events this principal causes."""
        return Actor(user_id=self.user_id, role=self.role, department=self.department)

    @property
    def is_read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES

    @property
    def is_unrestricted(self) -> bool:
        """True when no region, department or enterprise narrows what this principal sees."""
        return (
            self.region is None
            and self.enterprise is None
            and (self.department is None or self.role not in DEPARTMENT_SCOPED_ROLES)
        )

    def can_see_region(self, code: str) -> bool:
        """Whether a record in region ``code`` (a code or a scope prefix) is in scope."""
        if self.region is None:
            return True
        try:
            return region_prefix(code).startswith(self.region)
        except ValueError:
            return False

    def can_see_department(self, departments: Iterable[str]) -> bool:
        """Whether a record handled by ``departments`` is in scope: always, unless the role is
        department-scoped, in which case the user's department must be among them."""
        if self.role not in DEPARTMENT_SCOPED_ROLES or self.department is None:
            return True
        return self.department in set(departments)

    def can_see(self, *, region: str | None = None, departments: Iterable[str] = ()) -> bool:
        """Both checks at once; a record without a region is out of a region-scoped view."""
        if self.region is not None and (region is None or not self.can_see_region(region)):
            return False
        return self.can_see_department(departments)

    def require_role(self, *roles: Role) -> None:
        """Raise :class:`Forbidden` unless the principal acts in one of ``roles``."""
        if self.role not in roles:
            names = ", ".join(r.value for r in roles)
            raise Forbidden(f"role {self.role.value} may not do this (needs one of: {names})")

    def require_writer(self) -> None:
        """Raise :class:`Forbidden` for read-only roles (auditors read, never write)."""
        if self.is_read_only:
            raise Forbidden(f"role {self.role.value} reads but never writes")

    def require_region(self, code: str) -> None:
        """Raise :class:`Forbidden` when region ``code`` lies outside the principal's scope."""
        if not self.can_see_region(code):
            raise Forbidden(f"region {code} is outside your scope")


def principal_claims(principal: Principal) -> dict[str, Any]:
    """The scope claims a token carries for ``principal`` (without times or issuer)."""
    claims: dict[str, Any] = {"sub": principal.user_id, "role": principal.role.value}
    if principal.region is not None:
        claims["region"] = principal.region
    if principal.department is not None:
        claims["department"] = principal.department
    if principal.enterprise is not None:
        claims["enterprise"] = str(principal.enterprise)
    return claims


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal a verified token's claims describe; :class:`AuthError` if incomplete."""
    role_text = claims.get("role")
    try:
        role = Role(str(role_text))
    except ValueError:
        raise AuthError(f"token has an unknown role {role_text!r}") from None
    if role in TOKEN_FORBIDDEN_ROLES:
        raise AuthError(f"tokens may not carry the role {role.value}")
    for name in ("sub", "region", "department", "enterprise"):
        value = claims.get(name)
        if value is not None and not isinstance(value, str):
            raise AuthError(f"token claim {name!r} must be a string")
    try:
        enterprise = claims.get("enterprise")
        return Principal(
            user_id=claims.get("sub") or "",
            role=role,
            region=claims.get("region"),
            department=claims.get("department"),
            enterprise=UUID(enterprise) if enterprise else None,
            expires_at=float(claims["exp"]) if "exp" in claims else None,
        )
    except ValueError as e:
        raise AuthError(f"token scope is invalid: {e}") from None


# --- Settings and verification ----------------------------------------------------------------


@dataclass(frozen=True)
class JwtSettings:
    """How tokens are verified: an HMAC secret (HS256) or a public key (RS256, ES256, …).

    ``development`` is true when the built-in development secret is in use.
    """

    algorithm: str
    key: str = field(repr=False)
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 30.0
    development: bool = False

    def __post_init__(self) -> None:
        if self.algorithm in HMAC_ALGORITHMS:
            if len(self.key) < MIN_SECRET_LENGTH:
                raise AuthConfigError(
                    f"LIANXIN_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters"
                )
        elif self.algorithm in PUBLIC_KEY_ALGORITHMS:
            if not jwt.algorithms.has_crypto:
                raise AuthConfigError(
                    f"{self.algorithm} needs the 'cryptography' package (pyjwt[crypto])"
                )
        else:
            raise AuthConfigError(f"unsupported LIANXIN_JWT_ALGORITHM {self.algorithm!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> JwtSettings:
        """Read ``LIANXIN_JWT_*``; without a key, only ``LIANXIN_ENV=development`` may start
        (with the built-in, forgeable development secret and a logged warning)."""
        env_name = environment(environ)
        secret = environ.get("LIANXIN_JWT_SECRET", "")
        public_key = environ.get("LIANXIN_JWT_PUBLIC_KEY", "").strip()
        algorithm = environ.get("LIANXIN_JWT_ALGORITHM", "").strip()
        issuer = environ.get("LIANXIN_JWT_ISSUER") or None
        audience = environ.get("LIANXIN_JWT_AUDIENCE") or None
        try:
            leeway = float(environ.get("LIANXIN_JWT_LEEWAY", "30"))
        except ValueError:
            raise AuthConfigError("LIANXIN_JWT_LEEWAY must be a number of seconds") from None
        if secret and public_key:
            raise AuthConfigError("set LIANXIN_JWT_SECRET or LIANXIN_JWT_PUBLIC_KEY, not both")
        if public_key:
            algorithm = algorithm or "RS256"
            if algorithm not in PUBLIC_KEY_ALGORITHMS:
                raise AuthConfigError(
                    f"LIANXIN_JWT_ALGORITHM {algorithm!r} does not use a public key"
                )
            return cls(algorithm, _read_pem(public_key), issuer, audience, leeway)
        algorithm = algorithm or "HS256"
        if algorithm not in HMAC_ALGORITHMS:
            raise AuthConfigError(
                f"LIANXIN_JWT_ALGORITHM {algorithm!r} needs LIANXIN_JWT_PUBLIC_KEY"
            )
        if secret:
            return cls(algorithm, secret, issuer, audience, leeway)
        if env_name != "development":
            raise AuthConfigError(
                "no token key: set LIANXIN_JWT_SECRET (HS256) or LIANXIN_JWT_PUBLIC_KEY "
                "(RS256/ES256), or run with LIANXIN_ENV=development for a built-in dev secret"
            )
        logger.warning(
            "LIANXIN_ENV=development and no LIANXIN_JWT_SECRET: using the built-in development "
            "secret. Anyone can mint tokens for this server. Never use this in production."
        )
        return cls(algorithm, DEV_SECRET, issuer, audience, leeway, development=True)


def environment(environ: Mapping[str, str]) -> Environment:
    """``LIANXIN_ENV``: ``production`` (the default) or ``development``."""
    name = environ.get("LIANXIN_ENV", "production").strip().lower() or "production"
    if name == "development":
        return "development"
    if name == "production":
        return "production"
    raise AuthConfigError(f"LIANXIN_ENV must be development or production, not {name!r}")


def _read_pem(value: str) -> str:
    if value.startswith("-----BEGIN"):
        return value
    path = Path(value)
    try:
        return path.read_text(encoding="ascii")
    except OSError as e:
        raise AuthConfigError(f"LIANXIN_JWT_PUBLIC_KEY: cannot read {path}: {e}") from None


class TokenVerifier:
    """Turns a bearer token into a :class:`Principal`, or raises :class:`AuthError`."""

    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings

    def verify(self, token: str) -> Principal:
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                s.key,
                algorithms=[s.algorithm],
                issuer=s.issuer,
                audience=s.audience,
                leeway=s.leeway_seconds,
                options={"require": ["exp", "sub", "role"], "verify_aud": s.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token signature is invalid") from None
        except jwt.MissingRequiredClaimError as e:
            raise AuthError(f"token has no {e.claim!r} claim") from None
        except jwt.InvalidTokenError as e:
            raise AuthError(f"token is invalid: {e}") from None
        return principal_from_claims(claims)

    def verify_header(self, value: str | None) -> Principal:
        """Verify an ``Authorization: Bearer …`` header value."""
        return self.verify(bearer_token(value))


def bearer_token(value: str | None) -> str:
    """The token of an ``Authorization`` value; :class:`AuthError` when there is none."""
    if not value:
        raise AuthError(
            "authentication required: send Authorization: Bearer <token>", token_presented=False
        )
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


# --- Defence in depth: checked for every operation, whatever its resolvers do ----------------


class AccessGuard(SchemaExtension):
    """Refuses to execute without a principal, and refuses any mutation by a read-only role
    (an auditor reads but never writes), before a single resolver runs."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        principal = getattr(ec.context, "principal_or_none", None)
        error: GraphQLError | None = None
        if principal is None:
            error = GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
        elif principal.is_read_only and _operation_type(ec) is OperationType.MUTATION:
            error = GraphQLError(
                f"role {principal.role.value} reads but never writes",
                extensions={"code": "FORBIDDEN"},
            )
        if error is not None and _operation_type(ec) is not OperationType.SUBSCRIPTION:
            ec.result = GraphQLExecutionResult(data=None, errors=[error])
        yield


def _operation_type(ec: ExecutionContext) -> OperationType | None:
    try:
        return ec.operation_type
    except RuntimeError:
        return None
