"""The emulator's HTTP front end under abuse, over real loopback sockets: oversized bodies, slow and silent
clients, too many connections, malformed requests, and a rate limit a single request can exceed."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import httpx2
import pytest

from ftclient.emulator import Emulator, EmulatorConfig, ServerLimits, run_in_thread
from ftclient.emulator.ratelimit import RateLimiter

AUTH = b"Authorization: Bearer sk-test\r\n"
MODELS = b"GET /v1/models HTTP/1.1\r\nHost: emulator\r\n" + AUTH + b"\r\n"
FAST = ServerLimits(header_timeout_s=0.3, idle_timeout_s=0.3, io_timeout_s=0.3, linger_s=0.3)


@contextmanager
def raw(emu: Emulator, timeout: float = 3.0) -> Iterator[socket.socket]:
    with socket.create_connection((emu.host, emu.port), timeout=timeout) as sock:
        yield sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One whole response (status, headers, body) from a raw socket; the server closes after errors."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the peer closes the connection (after any answer) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def wait_until(condition: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- the rate limiter -------------------------------------------------------------------------------


def test_a_request_above_the_burst_but_within_the_minute_is_admitted_once_the_bucket_is_full() -> None:
    """--rpm 30 --tpm 4000: the token bucket holds 66 tokens; a 108-token request used to be refused forever."""
    clock = [0.0]
    with run_in_thread(EmulatorConfig(rpm=30, tpm=4000)) as emu:
        emu.core.services.limiter._monotonic = lambda: clock[0]
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there. How are you?"}],
                "max_tokens": 95}
        with httpx2.Client(base_url=emu.base_url, headers={"Authorization": "Bearer sk-test"}, timeout=5) as http:
            statuses = []
            for _ in range(8):  # eight attempts, each after the wait the last refusal asked for
                answer = http.post("/chat/completions", json=body)
                statuses.append(answer.status_code)
                if answer.status_code == 200:
                    break
                assert answer.status_code == 429 and "Request too large" not in answer.text
                clock[0] += int(answer.headers["retry-after-ms"]) / 1000
            assert statuses[-1] == 200, statuses
            charged = answer.json()["usage"]["prompt_tokens"] + 95
            assert charged > 4000 / 60  # the request is bigger than the bucket
            # the bucket is now in debt: the next request waits until it is full again, not forever
            refused = http.post("/chat/completions", json=body)
            assert refused.status_code == 429
            clock[0] += int(refused.headers["retry-after-ms"]) / 1000
            retried = http.post("/chat/completions", json=body)
            if retried.status_code == 429:  # the other bucket (RPM) may ask for a little longer
                clock[0] += int(retried.headers["retry-after-ms"]) / 1000
                retried = http.post("/chat/completions", json=body)
            assert retried.status_code == 200
            # above the per-minute limit itself it is "too large", with no retry-after: waiting cannot help
            clock[0] += 60
            too_large = http.post("/chat/completions", json={**body, "max_tokens": 4001})
            assert too_large.status_code == 429 and "Request too large" in too_large.json()["error"]["message"]
            assert "retry-after" not in too_large.headers


def test_the_limiter_keeps_the_minute_average_after_an_oversized_request() -> None:
    clock = [0.0]
    limiter = RateLimiter(rpm=None, tpm=6000, burst_s=1.0, monotonic=lambda: clock[0])  # 100 tokens a second
    assert limiter.admit("m", 250).ok  # full bucket: admitted, 150 tokens of debt
    refused = limiter.admit("m", 250)
    assert not refused.ok and refused.retry_after_s == pytest.approx(2.5)  # back to full: 250 tokens / 100 per s
    clock[0] = 2.4
    assert not limiter.admit("m", 250).ok
    clock[0] = 2.5
    assert limiter.admit("m", 250).ok
    clock[0] = 4.9  # 240 tokens back of the 250 charged: a small request fits, a full-bucket one does not yet
    assert limiter.admit("m", 40).ok
    assert not limiter.admit("m", 250).ok


# -- the request body ---------------------------------------------------------------------------------


def test_a_declared_1gb_body_gets_413_before_any_of_it_is_sent() -> None:
    with run_in_thread(EmulatorConfig()) as emu, raw(emu) as sock:
        sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: e\r\n" + AUTH
                     + b"Content-Type: application/octet-stream\r\nContent-Length: 1000000000\r\n\r\n")
        status, headers, body = read_response(sock)  # the old server waited for the gigabyte
        assert status == 413 and headers["connection"] == "close"
        error = json.loads(body)["error"]
        assert error["code"] == "request_too_large"
        assert "1000000000" in error["message"] and str(emu.limits.max_body_bytes) in error["message"]
        assert closed_within(sock, 2.5)


def test_a_chunked_body_is_cut_off_at_the_cap() -> None:
    with run_in_thread(EmulatorConfig(), ServerLimits(max_body_bytes=10_000)) as emu, raw(emu) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: e\r\n" + AUTH
                     + b"Transfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            sock.sendall(b"1000\r\n" + b"x" * 4096 + b"\r\n")  # 12 KiB in all, no end in sight
        status, _, body = read_response(sock)
        assert status == 413 and "more than 10000 bytes arrived" in json.loads(body)["error"]["message"]


def test_an_ordinary_client_sending_too_much_reads_the_413_rather_than_a_reset() -> None:
    """The client (httpx) writes its whole body before reading; the server drains it for a moment."""
    with run_in_thread(EmulatorConfig(), ServerLimits(max_body_bytes=64 * 1024)) as emu:
        with httpx2.Client(base_url=emu.base_url, headers={"Authorization": "Bearer sk-test"}, timeout=5) as http:
            refused = http.post("/files", content=b"x" * (2 * 1024 * 1024),
                                headers={"content-type": "application/octet-stream"})
            assert refused.status_code == 413
            assert http.get("/models").status_code == 200  # and the server carries on
        assert emu.stats()["requests"]["by_route"]["<refused>"] == {"413": 1}


def test_a_body_that_stalls_is_dropped() -> None:
    with run_in_thread(EmulatorConfig(), FAST) as emu, raw(emu) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: e\r\n" + AUTH + b"Content-Length: 100\r\n\r\n{")
        began = time.monotonic()
        assert closed_within(sock, 2.0)
        assert time.monotonic() - began < 1.5


# -- slow, silent and too many clients --------------------------------------------------------------------


def test_a_slowloris_head_is_cut_off_with_408() -> None:
    with run_in_thread(EmulatorConfig(), FAST) as emu, raw(emu) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\n")
        began = time.monotonic()
        sock.settimeout(0.05)
        answer = b""
        for n in range(20):  # a header line every 50 ms, never a whole head: at most a second of it
            sock.sendall(f"X-Trickle-{n}: a\r\n".encode())
            try:
                answer = sock.recv(65536)
                break
            except TimeoutError:
                continue
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
        assert b'"code":"request_timeout"' in answer
        assert 0.25 < time.monotonic() - began < 1.0  # FAST.header_timeout_s is 0.3 s


def test_an_idle_keep_alive_connection_is_closed() -> None:
    with run_in_thread(EmulatorConfig(), FAST) as emu, raw(emu) as sock:
        sock.sendall(MODELS)
        assert read_response(sock)[0] == 200
        began = time.monotonic()
        assert closed_within(sock, 2.0)
        assert 0.2 < time.monotonic() - began < 1.5


def test_a_connection_that_never_speaks_is_closed_after_the_head_deadline() -> None:
    with run_in_thread(EmulatorConfig(), FAST) as emu, raw(emu) as sock:
        status, _, _ = read_response(sock)
        assert status == 408
        assert closed_within(sock, 2.0)


def test_keep_alive_serves_several_requests_within_the_idle_timeout() -> None:
    with run_in_thread(EmulatorConfig(), FAST) as emu, raw(emu) as sock:
        for _ in range(3):
            sock.sendall(MODELS)
            assert read_response(sock)[0] == 200
            time.sleep(0.1)


def test_hundreds_of_slow_connections_are_capped_and_released() -> None:
    limits = ServerLimits(header_timeout_s=0.5, idle_timeout_s=0.5, io_timeout_s=0.5, linger_s=0.2,
                          max_connections=50)
    with run_in_thread(EmulatorConfig(), limits) as emu, ExitStack() as stack:
        socks = [stack.enter_context(raw(emu)) for _ in range(200)]
        for sock in socks:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: e\r\n")  # never finished
        statuses = [read_response(sock)[0] for sock in socks]
        # a slot freed by a timed-out head may go to a connection still waiting to be accepted
        assert statuses.count(503) + statuses.count(408) == 200 and statuses.count(408) >= 50
        assert emu._server.peak_connections == 50
        assert wait_until(lambda: emu._server.open_connections == 0)  # once the answered ones linger out
        assert emu.stats()["requests"]["by_route"]["<refused>"] == {"408": statuses.count(408)}
        with httpx2.Client(base_url=emu.base_url, headers={"Authorization": "Bearer sk-test"}) as http:
            assert http.get("/models").status_code == 200


def test_the_connection_cap_answers_503_and_frees_up() -> None:
    with run_in_thread(EmulatorConfig(), ServerLimits(max_connections=2, linger_s=0.2)) as emu:
        with raw(emu) as first, raw(emu) as second:
            first.sendall(MODELS)
            second.sendall(MODELS)
            assert read_response(first)[0] == read_response(second)[0] == 200
            with raw(emu) as third:
                third.sendall(MODELS)
                status, _, body = read_response(third)
                assert status == 503 and json.loads(body)["error"]["code"] == "too_many_connections"
        assert emu.stats()["refused_connections"] == 1
        assert wait_until(lambda: emu._server.open_connections == 0)
        with raw(emu) as fourth:
            fourth.sendall(MODELS)
            assert read_response(fourth)[0] == 200


# -- malformed requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /v1/models\r\n\r\n", 400),  # no version
        (b"GET /v1/models HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        (b"POST /v1/files HTTP/1.1\r\nHost: e\r\nContent-Length: ten\r\n\r\n", 400),
        (b"GET /v1/models HTTP/1.1\r\nHost: e\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
    ids=["garbage", "no-version", "header-without-colon", "bad-content-length", "head-too-large"],
)
def test_malformed_requests_get_a_4xx_and_the_server_carries_on(request_bytes: bytes, status: int) -> None:
    with run_in_thread(EmulatorConfig()) as emu:
        with raw(emu) as sock:
            sock.sendall(request_bytes)
            got, headers, body = read_response(sock)
            assert got == status and headers["connection"] == "close"
            assert json.loads(body)["error"]["code"] == "malformed_request"
        with raw(emu) as sock:
            sock.sendall(MODELS)
            assert read_response(sock)[0] == 200


def test_expect_100_continue_is_answered_before_the_body() -> None:
    with run_in_thread(EmulatorConfig()) as emu, raw(emu) as sock:
        body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi. There."}]}).encode()
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: e\r\n" + AUTH + b"Expect: 100-continue\r\n"
                     + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        status, _, answer = read_response(sock)
        assert status == 200 and json.loads(answer)["choices"][0]["message"]["content"] == "Hi."


def test_a_failing_handler_answers_500_and_the_connection_carries_on() -> None:
    def broken(request: object) -> object:
        raise ValueError("a handler bug")

    with run_in_thread(EmulatorConfig()) as emu, raw(emu) as sock:
        emu.core.router.add("GET", "/v1/broken", broken)  # type: ignore[arg-type]
        sock.sendall(b"GET /v1/broken HTTP/1.1\r\nHost: e\r\n" + AUTH + b"\r\n")
        status, _, answer = read_response(sock)  # the old server dropped the connection without a word
        assert status == 500 and "ValueError" in json.loads(answer)["error"]["message"]
        sock.sendall(MODELS)
        assert read_response(sock)[0] == 200
