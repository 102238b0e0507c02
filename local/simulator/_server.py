"""The HTTP(S) server: routing, authentication, faults, and the request log."""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import json
import re
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.simulator._faults import Fault, FaultBook
from local.simulator._jobs import ON_DUP, ON_ERROR, Job, JobBook, Kind, accepted_body, status_body
from local.simulator._tls import TlsProfile, server_context
from local.simulator._tokens import Client, Token, TokenBook
from local.simulator._upload import UploadError, file_part, read_file

MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class SimRequest:
    """One request the simulator saw. Authorization values are never kept."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    endpoint: str  # token | upload | update | status | other
    generation: str | None
    client_id: str | None
    field: str | None  # multipart field that carried the file
    filename: str | None
    body_size: int
    status: int | None  # None: the connection was dropped without an answer
    time: float
    duration: float
    fault: Fault | None


@dataclass
class _Route:
    endpoint: str
    generation: str | None
    kind: Kind | None = None
    job_id: str | None = None


@dataclass
class _Answer:
    status: int
    payload: dict[str, Any] | str | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Seen:
    """What the log keeps of a request beyond its line and headers."""

    client_id: str | None = None
    field: str | None = None
    filename: str | None = None
    body_size: int = 0
    fault: Fault | None = None


class _TooLarge(Exception):
    pass


_STATUS_ROUTES = re.compile(
    r"^/api/(bulkimport/status|itemupdate/status|bulkupload/show|itemupdate/show)/([^/]+)$"
)
_STATUS_KINDS: dict[str, tuple[str, Kind]] = {
    "bulkimport/status": ("current", "transactions"),
    "itemupdate/status": ("current", "item-updates"),
    "bulkupload/show": ("legacy", "transactions"),
    "itemupdate/show": ("legacy", "item-updates"),
}
_POST_ROUTES: dict[str, _Route] = {
    "/oauth2/token": _Route("token", "current"),
    "/oauth/token": _Route("token", "legacy"),
    "/api/bulkimport/save": _Route("upload", "current", "transactions"),
    "/api/bulkupload/save": _Route("upload", "legacy", "transactions"),
    "/api/itemupdate/updateItem": _Route("update", None, "item-updates"),
}
_FILE_FIELDS: dict[Kind, str] = {"transactions": "bulkUploadFile", "item-updates": "itemUpdateFile"}


def _route(method: str, path: str) -> _Route | None:
    if method == "POST":
        found = _POST_ROUTES.get(path)
        return None if found is None else _Route(found.endpoint, found.generation, found.kind)
    match = _STATUS_ROUTES.match(path)
    if method == "GET" and match:
        generation, kind = _STATUS_KINDS[match.group(1)]
        return _Route("status", generation, kind, match.group(2))
    return None


def _spring_error(status: int, error: str, message: str, path: str) -> dict[str, Any]:
    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "status": status,
        "error": error,
        "message": message,
        "path": path,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30
    # As production servers do (Tomcat's tcpNoDelay, nginx's tcp_nodelay): with Nagle on, each
    # answer's body waited for the client's delayed ACK of its headers, about 40 ms a request on
    # a kept-alive connection, which a client opening a connection per request mostly escaped.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulator's request log is `requests`."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        sim = self.server.sim
        started = time.time()
        url = urllib.parse.urlsplit(self.path)
        route = _route(self.command, url.path) or _Route("other", None)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        seen = _Seen()
        uploading = route.endpoint in ("upload", "update")
        if uploading:
            sim._enter_upload()
        answer: _Answer | None = None
        try:
            answer = self._respond(route, url.path, query, seen)
        finally:
            # Logged and counted out before the client can see the answer, so that a test
            # reading the log right after its call finds the call there.
            if uploading:
                sim._leave_upload()
            sim._log(
                SimRequest(
                    method=self.command,
                    path=url.path,
                    query=query,
                    headers=_safe_headers(self.headers.items()),
                    endpoint=route.endpoint,
                    generation=route.generation,
                    client_id=seen.client_id,
                    field=seen.field,
                    filename=seen.filename,
                    body_size=seen.body_size,
                    status=None if answer is None else answer.status,
                    time=started,
                    duration=time.time() - started,
                    fault=seen.fault,
                )
            )
        if answer is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(answer)

    def _respond(
        self, route: _Route, path: str, query: dict[str, str], seen: _Seen
    ) -> _Answer | None:
        """The answer to send, or None to hang up."""
        sim = self.server.sim
        token = self._bearer_token()
        if route.generation is None and token is not None:
            route.generation = token.generation
        try:
            body = self._read_body(sim.max_body)
        except _TooLarge:
            self.close_connection = True
            message = "Maximum upload size exceeded"
            return _Answer(413, _spring_error(413, "Payload Too Large", message, path))
        except ValueError:
            self.close_connection = True
            return _Answer(400, _spring_error(400, "Bad Request", "Malformed request body", path))
        seen.body_size = len(body)
        fault = None
        if route.endpoint != "other":
            fault = seen.fault = sim._faults.take(route.endpoint, route.generation)
        if fault is not None:
            sim._stopping.wait(fault.delay)
            if fault.rotate_token and token is not None:
                sim.rotate_token(token.client.client_id)
            if not fault.after_accept:
                if fault.drop:
                    return None
                if fault.status is not None:
                    return _Answer(fault.status, fault.body, dict(fault.headers))
        answer = self._answer(route, path, query, body, seen)
        if route.endpoint in ("upload", "update") and sim.upload_delay > 0:
            sim._stopping.wait(sim.upload_delay)
        if fault is None:
            return answer
        if fault.after_accept and fault.drop:
            return None
        if fault.after_accept and fault.status is not None:
            answer = _Answer(fault.status, fault.body, dict(fault.headers))
        return _distort(answer, fault)

    def _read_body(self, limit: int) -> bytes:
        """The whole body, or _TooLarge once it is past `limit`.

        An oversized body is still read (and dropped), so that the 413 reaches the client
        rather than being lost to a connection reset.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                        pass
                    if total > limit:
                        raise _TooLarge
                    return b"".join(chunks)
                total += size
                if total > limit:
                    chunks.clear()
                    self._discard(size)
                else:
                    chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > limit:
            self._discard(length)
            raise _TooLarge
        return self.rfile.read(length)

    def _discard(self, size: int) -> None:
        while size > 0:
            got = len(self.rfile.read(min(size, 1 << 16)))
            if not got:
                return
            size -= got

    def _bearer_token(self) -> Token | None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None
        token, _ = self.server.sim._tokens.check(value.strip())
        return token

    def _answer(
        self, route: _Route, path: str, query: dict[str, str], body: bytes, seen: _Seen
    ) -> _Answer:
        sim = self.server.sim
        if route.endpoint == "other":
            known = path in _POST_ROUTES or _STATUS_ROUTES.match(path)
            if known:
                return _Answer(
                    405,
                    _spring_error(
                        405,
                        "Method Not Allowed",
                        f"Request method '{self.command}' is not supported",
                        path,
                    ),
                )
            return _Answer(404, _spring_error(404, "Not Found", "No message available", path))
        if route.endpoint == "token":
            return self._token(route, query, body, seen)
        token, problem = self._authorise(route)
        if token is None:
            return problem
        seen.client_id = token.client.client_id
        assert route.kind is not None
        if route.endpoint == "status":
            try:
                job_id = int(route.job_id or "")
            except ValueError:
                job_id = -1
            job = sim._jobs.poll(job_id, token.client.license_number, token.generation, route.kind)
            if job is None:
                return _Answer(
                    404,
                    _spring_error(404, "Not Found", "Requested Bulk Import not in system", path),
                )
            code, payload = status_body(job, sim.base_url)
            return _Answer(code, payload)
        return self._upload(route.kind, token, path, query, body, seen)

    def _authorise(self, route: _Route) -> tuple[Token | None, _Answer]:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, _Answer(
                401,
                {
                    "error": "unauthorized",
                    "error_description": "Full authentication is required to access this resource",
                },
                {"WWW-Authenticate": 'Bearer realm="capss"'},
            )
        token, why = self.server.sim._tokens.check(value.strip())
        if token is not None and token.generation != route.generation:
            token, why = None, "Invalid access token"
        if token is None:
            return None, _Answer(
                401,
                {"error": "invalid_token", "error_description": why},
                {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{why}"'},
            )
        return token, _Answer(200, None)

    def _token(self, route: _Route, query: dict[str, str], body: bytes, seen: _Seen) -> _Answer:
        sim = self.server.sim
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return _Answer(
                401,
                {
                    "error": "unauthorized",
                    "error_description": "Full authentication is required to access this resource",
                },
                {"WWW-Authenticate": 'Basic realm="oauth2/client"'},
            )
        try:
            client_id, _, secret = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        client = sim._tokens.authenticate(
            urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
        )
        if client is None:
            return _Answer(
                401,
                {"error": "invalid_client", "error_description": "Bad client credentials"},
                {"WWW-Authenticate": 'Basic realm="oauth2/client"'},
            )
        seen.client_id = client.client_id
        form = dict(query)
        if self.headers.get_content_type() == "application/x-www-form-urlencoded":
            form.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            return _Answer(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Unsupported grant type: {grant or 'none'}",
                },
            )
        if form.get("scope", "api") != "api":
            return _Answer(
                400,
                {
                    "error": "invalid_scope",
                    "error_description": f"Invalid scope: {form['scope']}",
                    "scope": "api",
                },
            )
        assert route.generation is not None
        token, left = sim._tokens.issue(client, route.generation, sim.base_url)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if route.generation == "current":
            payload = {
                "access_token": token.value,
                "scope": "api",
                "token_type": "Bearer",
                "expires_in": left,
            }
        else:
            payload = {
                "access_token": token.value,
                "token_type": "bearer",
                "expires_in": left,
                "scope": "api",
            }
        return _Answer(200, payload, headers)

    def _upload(
        self,
        kind: Kind,
        token: Token,
        path: str,
        query: dict[str, str],
        body: bytes,
        seen: _Seen,
    ) -> _Answer:
        sim = self.server.sim

        def bad(message: str) -> _Answer:
            return _Answer(400, _spring_error(400, "Bad Request", message, path))

        on_dup = query.get("onDup", "cancel")
        on_error = query.get("onError", "cancel")
        if on_dup not in ON_DUP:
            return bad(f"Invalid onDup value: {on_dup}")
        if on_error not in ON_ERROR:
            return bad(f"Invalid onError value: {on_error}")
        wanted = _FILE_FIELDS[kind]
        try:
            part = file_part(self.headers.get("Content-Type", ""), body)
        except UploadError as exc:
            return bad(str(exc))
        if part is not None:
            seen.field, seen.filename = part.field, part.filename
        if part is None or part.field != wanted:
            return bad(f"Required request part '{wanted}' is not present")
        try:
            upload = read_file(part.data, part.filename)
        except UploadError as exc:
            return bad(str(exc))
        if upload.license_number != token.client.license_number:
            return bad(
                f"License number {upload.license_number} in file {part.filename} does not match "
                "the license of this API client"
            )
        if kind == "transactions" and upload.transactions == 0:
            return bad(f"File {part.filename} contains no property transactions")
        if not upload.items:
            return bad(f"File {part.filename} contains no items")
        job = sim._jobs.create(
            upload,
            client_id=token.client.client_id,
            generation=token.generation,
            kind=kind,
            file_name=part.filename,
            on_dup=ON_DUP[on_dup],
            on_error=on_error,
            data=part.data,
        )
        return _Answer(202, accepted_body(job, sim.base_url))

    def _send(self, answer: _Answer) -> None:
        payload = answer.payload
        if isinstance(payload, dict):
            data = json.dumps(payload, separators=(",", ":")).encode()
        else:
            data = (payload or "").encode()
        self.send_response(answer.status)
        headers = {"Content-Type": "application/json;charset=UTF-8", **answer.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _distort(answer: _Answer, fault: Fault) -> _Answer:
    """Applies a fault's changes to the body: links moved or listed, JSON cut short."""
    payload = answer.payload
    if isinstance(payload, dict) and isinstance(payload.get("links"), dict):
        links = dict(payload["links"])
        if fault.links_host is not None:
            rest = urllib.parse.urlsplit(links["href"])
            links["href"] = fault.links_host.rstrip("/") + rest.path
        payload = {**payload, "links": [links] if fault.links_as_list else links}
    if fault.malformed_json and payload is not None:
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        payload = text[: max(1, len(text) // 2)]
    return _Answer(answer.status, payload, answer.headers)


def _safe_headers(items: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        secret = name.lower() in ("authorization", "proxy-authorization", "cookie")
        headers[name] = value.partition(" ")[0] + " [redacted]" if secret else value
    return headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, sim: CapssSimulator, port: int, context: ssl.SSLContext | None) -> None:
        self.sim = sim
        self.context = context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def close_connections(self) -> None:
        """Ends idle keep-alive connections, so that their threads finish with the server."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs in the request's own thread, so a slow or failing client cannot
        # hold up the accept loop.
        connection = request
        if self.context is not None:
            request.settimeout(10)
            try:
                connection = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self._open_lock:
            self._open.add(connection)
        try:
            super().finish_request(connection, client_address)
        finally:
            with self._open_lock:
                self._open.discard(connection)
            if connection is not request:
                connection.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up or times out is normal here; anything else is a simulator bug.
        if not isinstance(sys.exc_info()[1], OSError):
            self.sim._note_error(traceback.format_exc())


class CapssSimulator:
    """A CAPSS look-alike on 127.0.0.1; see the package docstring for the rules it follows."""

    def __init__(
        self,
        *,
        tls: bool = True,
        polls_to_complete: int = 2,
        token_lifetime: float = 3600,
        tls_profile: TlsProfile = "modern",
        upload_delay: float = 0.0,
        port: int = 0,
        max_body: int = MAX_BODY,
    ) -> None:
        self.tls = tls
        self.tls_profile = tls_profile
        self.upload_delay = upload_delay
        self.max_body = max_body
        self._port = port
        self._tokens = TokenBook(token_lifetime)
        self._jobs = JobBook(polls_to_complete)
        self._faults = FaultBook()
        self._lock = threading.Lock()
        self._requests: list[SimRequest] = []
        self._errors: list[str] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None
        self.base_url = ""
        self.ca_pem_path: str | None = None

    def add_client(self, client_id: str, secret: str, *, license_number: str) -> None:
        """One OAuth client; each belongs to one dealer license."""
        self._tokens.add_client(Client(client_id, secret, license_number))

    @property
    def clients(self) -> list[Client]:
        return self._tokens.clients()

    def start(self) -> CapssSimulator:
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        context = None
        if self.tls:
            self._dir = Path(tempfile.mkdtemp(prefix="capss-sim-"))
            context, ca_path = server_context(self.tls_profile, self._dir)
            self.ca_pem_path = str(ca_path)
        self._stopping.clear()
        self._server = _Server(self, self._port, context)
        port = self._server.server_address[1]
        self.base_url = f"{'https' if self.tls else 'http'}://localhost:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"capss-sim-{port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> CapssSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return int(self._server.server_address[1])

    def inject(self, *faults: Fault) -> None:
        """Queues faults; each hits the next `times` requests that match it."""
        for fault in faults:
            self._faults.add(fault)

    @property
    def pending_faults(self) -> list[Fault]:
        return self._faults.pending()

    def clear_faults(self) -> None:
        self._faults.clear()

    def rotate_token(self, client_id: str) -> None:
        """Invalidates the client's current token: the next call with it gets 401."""
        self._tokens.rotate(client_id)

    def rotate_secret(self, client_id: str, secret: str) -> None:
        """A new secret from the 'API Client' page: the old one and its tokens stop working."""
        client = next(c for c in self._tokens.clients() if c.client_id == client_id)
        self._tokens.add_client(Client(client_id, secret, client.license_number))
        self._tokens.rotate(client_id)

    @property
    def requests(self) -> list[SimRequest]:
        with self._lock:
            return list(self._requests)

    def count(
        self,
        method: str | None = None,
        path_prefix: str | None = None,
        *,
        endpoint: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many logged requests match all the given filters."""
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method)
            and (path_prefix is None or r.path.startswith(path_prefix))
            and (endpoint is None or r.endpoint == endpoint)
            and (status is None or r.status == status)
        )

    @property
    def jobs(self) -> list[Job]:
        return self._jobs.snapshot()

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token handed out so far (for tests that look for leaks)."""
        return self._tokens.issued()

    @property
    def max_in_flight(self) -> int:
        with self._lock:
            return self._max_in_flight

    @property
    def errors(self) -> list[str]:
        """Unexpected server-side exceptions (tracebacks); empty when all went well."""
        with self._lock:
            return list(self._errors)

    def _enter_upload(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave_upload(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _log(self, request: SimRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _note_error(self, error: str) -> None:
        with self._lock:
            self._errors.append(error)
