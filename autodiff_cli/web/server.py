"""The HTTP server of ``adcli serve``: the standard library's, made safe for a local page.

- It listens on 127.0.0.1 unless told otherwise (:func:`make_server`).
- Each request must name the server itself in its ``Host`` header (``localhost``, or an
  IP address, with the server's port) and, when it has an ``Origin``, come from the
  server's own origin: a page from elsewhere cannot use it, even through a DNS name that
  it points at 127.0.0.1 (DNS rebinding).
- ``POST /api/<name>`` takes a JSON body (``Content-Type: application/json``, a
  ``Content-Length`` within the limit) and answers with JSON (:mod:`.endpoints`); every
  other path is one of the page's own files, looked up by name in a table made when the
  server starts, so no path reaches the file system.
- Each request is handled in its own thread; at most ``limits.concurrent`` compute at
  once (the others wait a moment, then get 503), and each is bounded before it starts
  (:class:`.endpoints.Limits`), so one slow request cannot hold the others up for long.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from ..errors import AdcliError
from ..render.json import to_json
from .endpoints import ENDPOINTS, LIMITS, Limits, error_data, info

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
"""The page runs its own script and nothing else, and cannot be framed."""

WAIT_FOR_SLOT = 10.0
"""Seconds a request waits for one of the computing slots before it is told the server is busy."""

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: URL path to (bytes, content type)."""
    files: dict[str, tuple[bytes, str]] = {}
    folder = resources.files(__package__).joinpath("static")
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in TYPES:
            files[f"/static/{entry.name}"] = (entry.read_bytes(), TYPES[suffix])
    files["/"] = files["/static/index.html"]
    return files


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its own names, its limits, and the page's files."""

    daemon_threads = True
    allow_reuse_address = False  # a busy port is an error, never a shared one
    # connections the kernel holds before they are accepted: the standard library's 5 resets
    # a burst of requests instead of letting them wait for a slot (or get 503 Busy)
    request_queue_size = 128

    def __init__(self, host: str, port: int, start: Mapping[str, Any] | None = None,
                 limits: Limits = LIMITS) -> None:
        self.limits = limits
        self.start = dict(start) if start else None
        self.files = static_files()
        self.slots = threading.BoundedSemaphore(limits.concurrent)
        family_host = host.strip("[]")
        if ":" in family_host:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__((family_host, port), Handler)
        self.host = family_host
        self.port = self.server_address[1]

    @property
    def url(self) -> str:
        shown = self.host if is_loopback(self.host) or self.host not in ("0.0.0.0", "::", "") \
            else "127.0.0.1"
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/"

    def allows_host(self, header: str | None) -> bool:
        """A Host header naming this server: ``localhost`` or an IP address, and its port.

        A DNS name other than localhost is refused whatever it resolves to: that is how a
        page from elsewhere would reach a local server (DNS rebinding).  Bound to loopback,
        only loopback addresses are accepted."""
        # exactly a name or address and the port, as browsers send it: nothing urlsplit would
        # also read as a user (evil@127.0.0.1:port), a path or a query
        match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})", header or "")
        if match is None or int(match.group(2)) != self.port:
            return False
        name = match.group(1).strip("[]").lower()
        if is_loopback(name):
            return True
        if is_loopback(self.host):
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is no news; anything else is printed, as usual."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def allows_origin(self, origin: str | None, host: str | None) -> bool:
        """No Origin (a navigation, a command-line client), or this very page's."""
        if origin is None:
            return True
        return origin.lower() == f"http://{host}".lower()


class Handler(BaseHTTPRequestHandler):
    """One request: checked, answered, logged nowhere (the page's requests are many)."""

    server: Server
    protocol_version = "HTTP/1.1"  # keep-alive: a slider's requests reuse one connection
    # The headers and the body go out in two writes: without TCP_NODELAY the second waits for
    # the client's delayed acknowledgement of the first, 40 ms on Linux, for every small answer.
    disable_nagle_algorithm = True
    timeout = 30  # seconds a connection may sit idle, or take to send its request

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return "adcli"  # not Python's version

    # -- answers
    def answer(self, status: int, body: bytes, content_type: str,
               extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer_json(self, status: int, data: Any) -> None:
        self.answer(status, to_json(data).encode("utf-8"), "application/json; charset=utf-8")

    def refuse(self, status: int, message: str, kind: str = "RequestError") -> None:
        self.answer_json(status, {"error": {"kind": kind, "message": message}})

    def checked(self) -> bool:
        """Whether the request names this server and comes from its page; if not, refused."""
        if not self.path.startswith("/"):  # the absolute form (http://elsewhere/...) is a proxy's
            self.close_connection = True
            self.refuse(HTTPStatus.BAD_REQUEST, "ask for a path on this server: /...")
            return False
        host = self.headers.get("Host")
        if not self.server.allows_host(host):
            self.close_connection = True
            named = "a request without a Host header" if host is None else f"the Host {host!r}"
            self.refuse(HTTPStatus.FORBIDDEN, f"refused: {named} is not this server's "
                        "(open the address adcli serve printed)", "ForeignHost")
            return False
        origin = self.headers.get("Origin")
        if not self.server.allows_origin(origin, host):
            self.close_connection = True
            self.refuse(HTTPStatus.FORBIDDEN, f"refused: a request from {origin!r}, not from this "
                        "page", "ForeignOrigin")
            return False
        return True

    # -- methods
    def do_GET(self) -> None:
        if not self.checked():
            return
        path = urlsplit(self.path).path
        if path == "/api/info":
            self.answer_json(HTTPStatus.OK, info(self.server.start, self.server.limits))
            return
        found = self.server.files.get(path)
        if found is None:
            self.refuse(HTTPStatus.NOT_FOUND, f"no such page: {path}", "NotFound")
            return
        body, content_type = found
        extra = {"Content-Security-Policy": POLICY, "X-Frame-Options": "DENY"} \
            if content_type.startswith("text/html") else None
        self.answer(HTTPStatus.OK, body, content_type, extra)

    do_HEAD = do_GET

    def not_allowed(self) -> None:
        """PUT, DELETE, OPTIONS, PATCH: refused as JSON, after the same checks as the others."""
        if not self.checked():
            return
        self.close_connection = True  # a body, if any, is not read
        error = {"kind": "MethodNotAllowed",
                 "message": f"{self.command} is not served: GET the page, POST to /api/"}
        self.answer(HTTPStatus.METHOD_NOT_ALLOWED, to_json({"error": error}).encode("utf-8"),
                    "application/json; charset=utf-8", {"Allow": "GET, HEAD, POST"})

    do_PUT = do_DELETE = do_OPTIONS = do_PATCH = not_allowed

    def do_POST(self) -> None:
        if not self.checked():
            return
        path = urlsplit(self.path).path
        name = path[len("/api/"):] if path.startswith("/api/") else ""
        endpoint = ENDPOINTS.get(name)
        if endpoint is None:
            self.close_connection = True
            self.refuse(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}", "NotFound")
            return
        data = self.read_json()
        if data is None:
            return
        if not self.server.slots.acquire(timeout=WAIT_FOR_SLOT):
            self.refuse(HTTPStatus.SERVICE_UNAVAILABLE, "the server is busy; try again", "Busy")
            return
        try:
            result = endpoint(data, self.server.limits)
        except AdcliError as error:
            self.answer_json(HTTPStatus.BAD_REQUEST, {"error": error_data(error)})
            return
        except Exception:  # a bug: say so, keep serving
            import traceback

            traceback.print_exc()
            self.refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (a bug in adcli: the "
                        "server's terminal shows it)", "InternalError")
            return
        finally:
            self.server.slots.release()
        if isinstance(result, str):  # a picture
            self.answer(HTTPStatus.OK, result.encode("utf-8"), TYPES[".svg"],
                        {"Content-Disposition": 'attachment; filename="adcli-graph.svg"'})
        else:
            self.answer_json(HTTPStatus.OK, result)

    def read_json(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None after refusing it (the connection is then
        closed: an unread body cannot be skipped)."""
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            self.close_connection = True
            self.refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON, with Content-Type: application/json")
            return None
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self.refuse(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
            return None
        lengths = self.headers.get_all("Content-Length") or []
        # digits only, and said once (int() would also take "+34" and "3_4")
        length = int(lengths[0]) if len(lengths) == 1 and lengths[0].strip().isdigit() \
            and lengths[0].strip().isascii() else -1
        if length < 0:
            self.close_connection = True
            self.refuse(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
            return None
        if length > self.server.limits.body_bytes:
            self.close_connection = True
            self.refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"the request has {length:,} bytes; at most {self.server.limits.body_bytes:,}",
                        "TooLarge")
            return None
        try:
            body = self.rfile.read(length)
        except OSError:  # a timeout: the client sent less than it said
            body = b""
        if len(body) < length:  # the client went away, or stalled past the timeout
            self.close_connection = True
            return None
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            self.refuse(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return None
        if not isinstance(data, dict):
            self.refuse(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return None
        return data


def make_server(host: str = "127.0.0.1", port: int = 0, start: Mapping[str, Any] | None = None,
                limits: Limits = LIMITS) -> Server:
    """A server bound to ``host`` and ``port`` (0: a free port), not yet serving: call
    ``serve_forever()`` (and ``server_close()`` after).  ``start`` is what the page opens on:
    ``{"expression": ..., "point": {...}}``."""
    return Server(host, port, start, limits)
