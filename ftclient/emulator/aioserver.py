"""The emulator's HTTP/1.1 front end on asyncio: one event loop thread serves every connection.

With a thread per keep-alive connection (``http.server``), dozens of concurrent clients spend more time
handing the interpreter lock around than answering. Here one loop parses requests, runs the (fast,
synchronous) route handlers inline and sends the responses; slow handlers (a job's file validation can
read a large file) run in a small thread pool. Injected latency and slow bodies are ``asyncio.sleep``s,
so sleeping connections cost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import TYPE_CHECKING

from ftclient.emulator.http import Request

if TYPE_CHECKING:
    from ftclient.emulator.server import EmulatorCore, Outcome

MAX_HEADER_BYTES = 64 * 1024
INLINE_ROUTES = frozenset({"POST /v1/chat/completions", "POST /v1/moderations", "GET /v1/models"})
"""Handlers quick enough to run on the loop itself; everything else goes to the thread pool."""


class AsyncEmulatorServer:
    """Binds at construction (so the port is known), serves in a background thread once started."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core
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

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Run the loop in the calling thread until ``shutdown`` (``poll_interval`` is not needed here)."""
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, sock=self._socket, limit=MAX_HEADER_BYTES)
        )
        self._loop.call_soon(self._serving.set)
        try:
            self._loop.run_forever()
        finally:
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

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writers.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            # The server is stopping. End normally: on Python 3.11 the stream machinery logs a traceback
            # for a handler task that ends cancelled.
            pass
        finally:
            self._writers.discard(writer)
            if writer.transport.is_closing():
                writer.transport.abort()
            else:
                writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
        if not head:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if headers.get("expect", "").lower() == "100-continue":  # curl asks before sending a large body
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await _read_body(reader, headers)
        request = Request.build(method, target, headers, body)
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        route = self.core.router.match(request.method, request.path)
        if route is not None and route[0] in INLINE_ROUTES:
            outcome = self.core.dispatch(request)
        else:
            outcome = await self._loop.run_in_executor(self._pool, self.core.dispatch, request)
        return await self._send(writer, outcome, keep_alive)

    async def _send(self, writer: asyncio.StreamWriter, outcome: Outcome, keep_alive: bool) -> bool:
        if outcome.delay_s:
            await asyncio.sleep(outcome.delay_s)
        response = outcome.response
        if outcome.drop or response is None:
            writer.transport.abort()
            return False
        phrase = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        head = [f"HTTP/1.1 {response.status} {phrase}", "server: ftclient-emulator",
                f"content-type: {response.content_type}", f"content-length: {len(response.body)}"]
        head += [f"{name}: {value}" for name, value in response.headers.items()]
        if not keep_alive:
            head.append("connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if outcome.slow_body_s and response.body:
            writer.write(data)
            chunks = max(1, outcome.slow_chunks)
            step = max(1, -(-len(response.body) // chunks))
            for start in range(0, len(response.body), step):
                await asyncio.sleep(outcome.slow_body_s / chunks)
                writer.write(response.body[start : start + step])
                await writer.drain()
        else:
            writer.write(data + response.body)
            await writer.drain()
        return keep_alive


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readline()).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readline()
    length = int(headers.get("content-length") or 0)
    return await reader.readexactly(length) if length else b""
