"""What every request goes through before a route sees it (a pure ASGI middleware, outermost
but for Starlette's own error middleware).

1. **Authentication first.** Every path under `/api/v1` but `/api/v1/health` and `/api/v1/ready`
   needs a valid `X-API-Key`, checked from the headers alone, before a byte of the body is read
   (401, and the connection is closed). The routes' dependencies (`api.deps`) then check roles.
   Other paths are public (probes, the OpenAPI page, the Neo4j Browser's style and guide) and
   never read a body.
2. **Size and time.** A body larger than `max_body_bytes` is refused with 413: from its
   `Content-Length` before reading anything, or while reading a chunked body. An authenticated
   body is read here — at most `max_body_bytes`, within `client_timeout` seconds (else 408) — and
   then handed to the route. (Headers sent too slowly are `api.server`'s business.)
3. **The access log** (`fraudnet.access`): one line per request with the client's address, the
   method, the **route template** (`/api/v1/entities/{entity_type}/{entity_id}`) — never the path
   or the query string as sent, so no identifier in a URL, encoded or not, reaches the log — the
   status, the milliseconds and the key's name; `-` for a path that matches no route.
4. **An unexpected error** answers 500 `{"detail": "internal error"}` and is logged with its type
   and stack (files, lines, code), never its message, which may quote data.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Callable, Iterable

from starlette.routing import compile_path

from contract.errors import trace

log = logging.getLogger("fraudnet.access")
errors = logging.getLogger("fraudnet.api")

API = "/api/v1/"
PUBLIC = ("/api/v1/health", "/api/v1/ready")


async def answer(send, status: int, detail: str, close: bool = True):
    body = json.dumps({"detail": detail}, separators=(",", ":"), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:           # the body was not read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """The middleware (see the module docstring). `keys`: an `api.auth.KeyRing`; `templates`:
    the application's path templates (read once, on the first request), which the access log
    writes in place of paths."""

    def __init__(self, app, keys, templates: Callable[[], Iterable[str]], max_body_bytes: int, client_timeout: float):
        self.app, self.keys, self.templates = app, keys, templates
        self.max_body, self.client_timeout = max_body_bytes, client_timeout
        self._compiled: list | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = []

        async def sending(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)
        try:
            refused = self._check(scope)
            if refused is None and scope["path"].startswith(API) and scope["path"] not in PUBLIC:
                receive, refused = await self._body(scope, receive)
            if refused:
                await answer(sending, *refused)
            else:
                await self.app(scope, receive, sending)
        except Exception as e:          # a bug: answered and logged without its message
            errors.error("unexpected error in %s %s:\n%s", scope["method"], self._template(scope), trace(e))
            if not status:
                await answer(sending, 500, "internal error", close=False)
        finally:
            who = (scope.get("state") or {}).get("principal")
            client = (scope.get("client") or ("-",))[0]
            log.info('%s "%s %s" %s %.1f ms %s', client, scope["method"], self._template(scope),
                     status[0] if status else "-", (time.perf_counter() - t0) * 1000, who.name if who else "-")

    def _check(self, scope) -> tuple[int, str] | None:
        """A refusal from the headers alone — the key first, then the body's declared size — or
        None."""
        headers = dict(scope["headers"])
        path = scope["path"]
        if path.startswith(API) and path not in PUBLIC:
            key = headers.get(b"x-api-key")
            if not key:
                return 401, "missing API key: send it in the X-API-Key header"
            who = self.keys.check(key.decode("latin-1"))
            if who is None:
                return 401, "invalid API key"
            scope.setdefault("state", {})["principal"] = who
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return 400, "invalid Content-Length header"
            if int(length) > self.max_body:
                return 413, f"the request body is larger than {self.max_body:,} bytes"
        return None

    async def _body(self, scope, receive):
        """(receive, None) with the whole body read (at most `max_body` bytes, within
        `client_timeout`) and replayed, or (receive, refusal)."""
        headers = dict(scope["headers"])
        if headers.get(b"content-length", b"0") == b"0" and b"transfer-encoding" not in headers:
            return receive, None
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.client_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return receive, (400, "the client disconnected")
                    size += len(message.get("body", b""))
                    if size > self.max_body:
                        return receive, (413, f"the request body is larger than {self.max_body:,} bytes")
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return receive, (408, f"the request body was not received within {self.client_timeout:g} s")
        body, given = b"".join(chunks), False

        async def replay():
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return replay, None

    def _template(self, scope) -> str:
        """The template of the path requested, `-` when none matches."""
        if self._compiled is None:
            self._compiled = [(compile_path(t)[0], t) for t in sorted(set(self.templates()))]
        return next((t for regex, t in self._compiled if regex.match(scope["path"])), "-")
