"""The emulator's HTTP/1.1 front end on asyncio: one event loop thread serves every connection.

With a thread per keep-alive connection (``http.server``), dozens of concurrent clients spend more time
handing the interpreter lock around than answering. Here one loop reads requests, runs the (fast,
synchronous) route handlers inline and sends the responses; slow handlers (a job's file validation can
read a large file) run in a small thread pool. Injected latency and slow bodies are ``asyncio.sleep``s,
so sleeping connections cost nothing.

The HTTP/1.1 framing (request line, headers, chunked and sized bodies, keep-alive, ``Expect:
100-continue``) is h11's, a small sans-I/O parser that httpcore (under httpx2 and the openai SDK) already
uses: a malformed request line or oversized head becomes h11's 400 or 431 instead of a parser of our own.
This module adds what a server users leave running needs on top: a body cap answered with 413 before the
body is read, deadlines for the request head and for idle keep-alive connections (so slow or silent
clients cannot hold sockets), a gap timeout while a body or a response is in flight, and a cap on open
connections (503 beyond it).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

import h11

from ftclient.emulator.http import ApiError, Request, Response
from ftclient.emulator.server import Outcome

if TYPE_CHECKING:
    from ftclient.emulator.server import EmulatorCore

INLINE_ROUTES = frozenset({"POST /v1/chat/completions", "POST /v1/moderations", "GET /v1/models"})
"""Handlers quick enough to run on the loop itself; everything else goes to the thread pool."""
READ_SIZE = 256 * 1024


@dataclass(frozen=True)
class ServerLimits:
    """What one client may hold of the server. The defaults let every documented request through.

    ``max_body_bytes``: OpenAI's Files API takes 512 MB in one multipart request, so the cap is 513 MiB
    (the envelope included); larger files go through the Uploads API's 64 MB parts, or Together's
    multipart upload. Bodies are kept in memory, which is why there is a cap at all.
    ``header_timeout_s``: the whole request head must arrive within it (a client trickling one header
    byte at a time is cut off). ``idle_timeout_s``: how long a keep-alive connection may wait for its
    next request; above httpx's 5 s keep-alive expiry, so a client never reuses a socket the server has
    just closed. ``io_timeout_s``: the longest pause while a body arrives or a response is sent.
    ``max_connections``: open connections beyond it get a 503 and are closed. ``linger_s``: after a
    refusal (413, 408, 400, 503), how long the client's remaining input is read and dropped so that it
    sees the answer rather than a reset.
    """

    max_body_bytes: int = 513 * 1024**2
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 75.0
    io_timeout_s: float = 30.0
    max_connections: int = 512
    linger_s: float = 2.0


class _Refuse(Exception):
    """Answer with this error and close the connection (the request cannot be served)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class _Quiet(Exception):
    """Close the connection without an answer (the peer went away or stalled mid-body)."""


class AsyncEmulatorServer:
    """Binds at construction (so the port is known), serves in a background thread once started."""

    def __init__(self, core: EmulatorCore, limits: ServerLimits | None = None) -> None:
        self.core = core
        self.limits = limits or ServerLimits()
        family = socket.AF_INET6 if ":" in core.config.host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((core.config.host, core.config.port))
        self._socket.listen(512)
        self._socket.setblocking(False)
        self.server_address = self._socket.getsockname()
        self._loop = asyncio.new_event_loop()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ftclient-emulator")
        self._server: asyncio.AbstractServer | None = None
        self._serving = threading.Event()
        self._stopped = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self.peak_connections = 0

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Run the loop in the calling thread until ``shutdown`` (``poll_interval`` is not needed here)."""
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, sock=self._socket, limit=READ_SIZE)
        )
        self._loop.call_soon(self._serving.set)
        stop_signals = self._stop_on_signals()
        try:
            self._loop.run_forever()
        finally:
            for signum in stop_signals:
                self._loop.remove_signal_handler(signum)
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            # Let every connection handler finish its cancellation before the loop closes; a handler
            # left pending is destroyed with a "Task was destroyed but it is pending" warning.
            pending = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._stopped.set()

    def _stop_on_signals(self) -> list[signal.Signals]:
        """In the main thread (``ftclient emulator``), Ctrl-C and SIGTERM stop the loop between callbacks.

        Left to Python's default, Ctrl-C raises KeyboardInterrupt wherever the loop happens to be; landing
        inside a connection task's step, it can leave that task waiting on a future nobody completes, and
        the shutdown then waits for it forever."""
        if threading.current_thread() is not threading.main_thread():
            return []
        installed: list[signal.Signals] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self._loop.add_signal_handler(signum, self._loop.stop)
                installed.append(signum)
        return installed

    def wait_serving(self, timeout: float = 5.0) -> bool:
        return self._serving.wait(timeout)

    def shutdown(self) -> None:
        # A stop that arrives while the loop is still starting the server would cut start-up short
        # ("Event loop stopped before Future completed"): wait until it serves, then stop it.
        self._serving.wait(timeout=5)
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._stopped.wait(timeout=5)

    def server_close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(OSError):
            self._socket.close()
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()

    @property
    def open_connections(self) -> int:
        return len(self._writers)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if len(self._writers) >= self.limits.max_connections:
            self.core.services.stats.bump("refused_connections")
            message = f"Too many open connections (at most {self.limits.max_connections}); retry shortly."
            busy = ApiError(503, message, type="server_error", code="too_many_connections")
            with contextlib.suppress(asyncio.CancelledError):
                await self._refuse(reader, writer, busy)
            return
        self._writers.add(writer)
        self.peak_connections = max(self.peak_connections, len(self._writers))
        wire = _Wire(reader, writer, h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes),
                     self.limits)
        refusal: ApiError | None = None
        try:
            while await self._one_request(wire):
                pass
        except _Refuse as refused:
            refusal = refused.error
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint
            message = f"Malformed HTTP request: {exc}." if status == 400 else f"Request head too large: {exc}."
            refusal = ApiError(status, message, code="malformed_request")
        except (_Quiet, TimeoutError, ConnectionError, h11.LocalProtocolError):
            pass
        except asyncio.CancelledError:
            # The server is stopping. End normally: on Python 3.11 the stream machinery logs a traceback
            # for a handler task that ends cancelled.
            pass
        try:
            if refusal is not None:
                self.core.services.stats.record("<refused>", refusal.status)
                await self._refuse(reader, writer, refusal)
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            if writer.transport.is_closing():
                writer.transport.abort()
            else:
                writer.close()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, error: ApiError) -> None:
        """Answer ``error`` and close, reading (and dropping) what the client still sends for a moment.

        Closing a socket with unread input makes the kernel reset the connection, and the client may
        then lose the answer; so, like Apache's lingering close, discard input for at most
        ``linger_s`` after half-closing.
        """
        try:
            writer.write(_serialize(error.response()))
            async with asyncio.timeout(self.limits.linger_s):
                await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()
                while await reader.read(READ_SIZE):
                    pass
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _one_request(self, wire: _Wire) -> bool:
        """Serve one request; False when the connection should close."""
        head = await wire.request_head()
        if head is None:
            return False
        headers: dict[str, str] = {}
        for raw_name, raw_value in head.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        declared = headers.get("content-length")
        if declared is not None and int(declared) > self.limits.max_body_bytes:
            raise _Refuse(_too_large(int(declared), self.limits.max_body_bytes))
        if wire.conn.they_are_waiting_for_100_continue:  # curl asks before sending a large body
            await wire.send(h11.InformationalResponse(status_code=100, headers=[]))
        body = await wire.body()
        request = Request.build(head.method.decode("ascii"), head.target.decode("latin-1"), headers, body)
        route = self.core.router.match(request.method, request.path)
        try:
            if route is not None and route[0] in INLINE_ROUTES:
                outcome = self.core.dispatch(request)
            else:
                outcome = await asyncio.get_running_loop().run_in_executor(self._pool, self.core.dispatch, request)
        except Exception as exc:  # a fault in a handler: answer as a server would, and keep serving
            self.core.services.stats.record("<failed>", 500)
            failure = ApiError(500, f"The emulator failed on {request.method} {request.path}: "
                               f"{type(exc).__name__}: {exc}", type="server_error")
            outcome = Outcome(failure.response())
        return await self._send(wire, outcome)

    async def _send(self, wire: _Wire, outcome: Outcome) -> bool:
        if outcome.delay_s:
            await asyncio.sleep(outcome.delay_s)
        response = outcome.response
        if outcome.drop or response is None:
            wire.writer.transport.abort()
            return False
        await wire.send(_head(response))
        if outcome.slow_body_s and response.body:
            chunks = max(1, outcome.slow_chunks)
            step = max(1, -(-len(response.body) // chunks))
            for start in range(0, len(response.body), step):
                await asyncio.sleep(outcome.slow_body_s / chunks)
                await wire.send(h11.Data(data=response.body[start : start + step]))
        elif response.body:
            await wire.send(h11.Data(data=response.body))
        await wire.send(h11.EndOfMessage())
        if wire.conn.our_state is h11.DONE and wire.conn.their_state is h11.DONE:
            wire.conn.start_next_cycle()
            return True
        return False


class _Wire:
    """One connection's h11 state and its socket, with the deadlines of ``ServerLimits``."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: h11.Connection, limits: ServerLimits
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = conn
        self.limits = limits
        self.served = 0

    async def _receive(self, timeout: float, size: int = READ_SIZE) -> int | None:
        """Feed the parser what arrives within ``timeout``: its length (0 at the end), None if nothing came."""
        try:
            async with asyncio.timeout(timeout):
                data = await self.reader.read(size)
        except TimeoutError:
            return None
        self.conn.receive_data(data)
        return len(data)

    async def request_head(self) -> h11.Request | None:
        """The next request's head, or None when the client closed (or let the connection idle out).

        A first request's head must be complete within ``header_timeout_s`` of the accept; on a
        keep-alive connection the wait for the next request's first byte is ``idle_timeout_s``, and the
        head deadline starts with that byte.
        """
        loop = asyncio.get_running_loop()
        waiting_for_first_byte = self.served > 0
        fed = 0  # h11 bounds an incomplete head only; reading at most one byte past the cap bounds any head
        limits = self.limits
        deadline = loop.time() + (limits.idle_timeout_s if waiting_for_first_byte else limits.header_timeout_s)
        while True:
            event = self.conn.next_event()
            if isinstance(event, h11.Request):
                self.served += 1
                return event
            if isinstance(event, h11.ConnectionClosed):
                return None
            if event is not h11.NEED_DATA:
                raise _Quiet(f"unexpected {event!r} before a request")
            if fed > self.limits.max_header_bytes:
                raise h11.RemoteProtocolError(
                    f"the request head is over {self.limits.max_header_bytes} bytes", error_status_hint=431
                )
            remaining = deadline - loop.time()
            got = await self._receive(remaining, self.limits.max_header_bytes + 1 - fed) if remaining > 0 else None
            if got is None:
                if waiting_for_first_byte:
                    return None  # an idle keep-alive connection: close it quietly
                raise _Refuse(ApiError(
                    408,
                    f"The request head did not arrive within {self.limits.header_timeout_s:g} s.",
                    code="request_timeout",
                ))
            fed += got
            if waiting_for_first_byte:
                waiting_for_first_byte = False
                deadline = loop.time() + self.limits.header_timeout_s

    async def body(self) -> bytes:
        """The request body (sized or chunked), refused with 413 as soon as it outgrows the cap."""
        parts: list[bytes] = []
        size = 0
        while True:
            event = self.conn.next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.limits.max_body_bytes:
                    raise _Refuse(_too_large(size, self.limits.max_body_bytes, streamed=True))
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            elif event is h11.NEED_DATA:
                if await self._receive(self.limits.io_timeout_s) is None:
                    raise _Quiet("the request body stalled")
            else:
                raise _Quiet(f"unexpected {event!r} inside a request body")

    async def send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            async with asyncio.timeout(self.limits.io_timeout_s):
                await self.writer.drain()


def _head(response: Response) -> h11.Response:
    status = response.status
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    headers = [("server", "ftclient-emulator"), ("content-type", response.content_type)]
    if "content-length" not in response.headers:  # a HEAD answer states the length of the body it leaves out
        headers.append(("content-length", str(len(response.body))))
    headers += list(response.headers.items())
    return h11.Response(status_code=status, headers=headers, reason=reason.encode("latin-1"))


def _serialize(response: Response) -> bytes:
    """An error answer on a connection that is about to close (h11's state may not allow one here:
    the request may be incomplete or not even begun)."""
    phrase = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
    lines = [f"HTTP/1.1 {response.status} {phrase}", "server: ftclient-emulator",
             f"content-type: {response.content_type}", f"content-length: {len(response.body)}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


def _too_large(size: int, cap: int, *, streamed: bool = False) -> ApiError:
    said = f"more than {cap} bytes arrived" if streamed else f"Content-Length is {size} bytes"
    return ApiError(
        413,
        f"Request body too large: {said}; this emulator accepts at most {cap} bytes per request. "
        "Upload large files in parts (OpenAI's Uploads API, Together's multipart upload).",
        code="request_too_large",
    )
