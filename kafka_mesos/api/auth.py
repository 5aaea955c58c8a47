"""Optional API authentication: HTTP basic (`--api-auth USER:PASSWORD`) or bearer (`--api-token-file`).

Every route asks for the credentials except `/health` (load balancers and Marathon health checks carry none)
and the artifact downloads under `/files`, `/jar`, `/kafka`, `/executor`: the Mesos fetcher downloads them for
the executor and cannot send an Authorization header (they hold the executor and the Kafka distribution,
nothing of the cluster's state). Credentials are compared in constant time and never echoed back.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

PUBLIC_PATHS = frozenset({"/health"})
PUBLIC_PREFIXES = ("/files/", "/jar/", "/kafka/", "/executor/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AuthConfigError(ValueError):
    """The configured credentials are unusable; `str()` is one line that does not contain them."""


@dataclass(frozen=True, repr=False)
class ApiAuth:
    """The one `Authorization` header value the API accepts (`Basic <b64>` or `Bearer <token>`)."""

    scheme: str
    expected: str

    def __repr__(self) -> str:  # never show the credentials, even in a debugger or a log of settings
        return f"ApiAuth(scheme={self.scheme!r})"

    def accepts(self, header: str | None) -> bool:
        if not header:
            return False
        return hmac.compare_digest(header.strip().encode(), self.expected.encode())

    def authorization(self) -> str:
        """The header value a client sends."""
        return self.expected


def basic_auth(user_password: str) -> ApiAuth:
    user, sep, password = user_password.partition(":")
    if not sep or not user or not password:
        raise AuthConfigError("expected USER:PASSWORD (both non-empty)")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return ApiAuth("Basic", f"Basic {token}")


def bearer_auth(token: str) -> ApiAuth:
    token = token.strip()
    if not token or any(c.isspace() for c in token) or not token.isprintable():
        raise AuthConfigError("the token must be one non-empty line without spaces")
    return ApiAuth("Bearer", f"Bearer {token}")


def read_token_file(path: Path) -> ApiAuth:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or e
        raise AuthConfigError(f"cannot read the token file {path}: {reason}") from None
    return bearer_auth(text)


def api_auth_from(user_password: str | None, token_file: str | None) -> ApiAuth | None:
    """The API's authentication from the settings' two options (at most one may be given)."""
    if user_password and token_file:
        raise AuthConfigError("give either --api-auth or --api-token-file, not both")
    if user_password:
        return basic_auth(user_password)
    if token_file:
        return read_token_file(Path(token_file))
    return None


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def auth_middleware(auth: ApiAuth) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_public(request.path) or auth.accepts(request.headers.get("Authorization")):
            return await handler(request)
        body = {"code": 401, "error": "authentication required", "field": None}
        challenge = 'Basic realm="kafka-mesos"' if auth.scheme == "Basic" else 'Bearer realm="kafka-mesos"'
        return web.json_response(body, status=401, headers={"WWW-Authenticate": challenge})

    return authenticate
