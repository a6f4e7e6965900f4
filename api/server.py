"""Running the API: uvicorn with fraudnet's logging and its limits on slow clients.

- Request heads: a connection must send a complete request line and headers within
  `client_timeout` seconds of opening, or of the end of its previous response; otherwise it is
  closed (a "slowloris" client trickling header bytes would otherwise hold a connection for
  ever: uvicorn's keep-alive timeout restarts at every byte). `TimelyH11Protocol` adds that
  deadline to uvicorn's h11 protocol; headers are capped at 16 KiB (h11).
- Request bodies: read by `api.guard` within the same `client_timeout`, at most
  `max_body_bytes`.
- Logs: uvicorn's access log is off; `api.guard` writes fraudnet's (`api.logs`).

Exposed beyond a trusted network, run it behind a reverse proxy that also bounds connections
per client (nginx `limit_conn`, `client_header_timeout`, `client_body_timeout`).
"""
from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .logs import log_config


class TimelyH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline of `header_timeout` seconds for each request head."""
    header_timeout = 10.0
    _deadline = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:      # the request head arrived whole
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)

    def _arm(self):
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self):
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self):
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def serve(app, host: str, port: int, client_timeout: float):
    """Serve `app` on host:port until interrupted (see the module docstring)."""
    import uvicorn
    protocol = type("TimelyH11Protocol", (TimelyH11Protocol,), {"header_timeout": client_timeout})
    uvicorn.run(app, host=host, port=port, http=protocol, log_level="info", log_config=log_config(),
                access_log=False, timeout_keep_alive=5, h11_max_incomplete_event_size=16 * 1024)
