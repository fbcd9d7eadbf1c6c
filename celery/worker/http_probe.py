"""A small HTTP server for the worker's probes, on a thread of the main process.

Only ``GET`` of the registered paths is answered.  Each connection has a
socket timeout and a bounded request line and headers, so slow or malformed
clients cost a probe thread at most, never the worker's loop.
"""
from __future__ import annotations

import errno
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from celery.exceptions import ImproperlyConfigured

__all__ = ('ProbeServer', 'Response', 'Route')

#: ``(status, body, content type)``.
Response = tuple[int, bytes, str]
#: Answers a ``GET`` of one path.
Route = Callable[[], Response]

#: Seconds a client may take to send its request (and read the answer).
CLIENT_TIMEOUT = 5.0
#: Most bytes of a request line (headers are bounded by http.client: 100 lines).
MAX_LINE = 2048
PLAIN = 'text/plain; charset=utf-8'
#: Clients served at once; more are disconnected until one finishes (or times out).
MAX_CLIENTS = 64


class _ProbeHandler(BaseHTTPRequestHandler):
    """Answers from the server's routes; logs nothing (probes are frequent)."""

    server: _ProbeHTTPServer
    timeout = CLIENT_TIMEOUT
    protocol_version = 'HTTP/1.0'
    # Defaults for replies sent before a request line was parsed (414).
    requestline = ''
    request_version = 'HTTP/1.0'
    command = ''

    def handle_one_request(self) -> None:
        try:
            line = self.rfile.readline(MAX_LINE + 1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if len(line) > MAX_LINE:
            self._reply((414, b'request line too long\n', PLAIN))
            return
        self.raw_requestline = line
        if not line or not self.parse_request():
            self.close_connection = True
            return
        if self.command != 'GET':
            self._reply((405, b'method not allowed\n', PLAIN))
            return
        route = self.server.routes.get(self.path.partition('?')[0])
        self._reply(route() if route else (404, b'not found\n', PLAIN))
        self.close_connection = True

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """A request ``parse_request`` refused: a short plain answer, never HTML."""
        # parse_request may have assumed HTTP/0.9, which has no status line.
        self.request_version = 'HTTP/1.0'
        self._reply((code, f'{message or "bad request"}\n'.encode(), PLAIN))

    def _reply(self, response: Response) -> None:
        status, body, content_type = response
        try:
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client went away: nothing to tell it
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _ProbeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Do not keep a list of every thread ever started (the server runs for days).
    block_on_close = False
    # A port left in TIME_WAIT by a previous worker may be reused; one in use may not.
    allow_reuse_address = True
    routes: dict[str, Route]
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        # One thread per client, but never more than max_clients: a flood of
        # idle connections costs a bounded number of threads in the worker.
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a broken client connection is not worth a traceback


class ProbeServer:
    """Serves ``routes`` on ``address:port`` from a daemon thread."""

    def __init__(self, address: str, port: int, routes: dict[str, Route],
                 setting: str = 'worker_metrics_port', max_clients: int = MAX_CLIENTS) -> None:
        """Bind now, so that a port in use stops the worker before it starts."""
        try:
            self._httpd = _ProbeHTTPServer((address, port), _ProbeHandler, bind_and_activate=True)
        except OSError as exc:
            raise ImproperlyConfigured(_bind_error(setting, address, port, exc)) from exc
        self._httpd.routes = dict(routes)
        self._httpd.slots = threading.BoundedSemaphore(max_clients)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """The bound address (``worker_metrics_address``)."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The bound port (useful when the setting is 0: any free port)."""
        return int(self._httpd.server_address[1])

    def add_routes(self, routes: dict[str, Route]) -> None:
        """Answer these paths too (metrics and health sharing one port)."""
        self._httpd.routes.update(routes)

    def start(self) -> None:
        """Start answering, from a daemon thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={'poll_interval': 0.5},
            name=f'celery-probe-{self.port}', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=2.0)
            self._thread = None
        self._httpd.server_close()


def _bind_error(setting: str, address: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        reason = 'is already in use'
    else:
        reason = f'cannot be bound: {exc.strerror or exc}'
    return (f'{setting}: port {port} on {address} {reason} '
            f'(choose another port with the {setting} setting).')

