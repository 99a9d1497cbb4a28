"""One worker, many callers: FIFO with a bound (429 + Retry-After), and a client that goes away
cancels its request, whether it waits in the queue or is generating."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gptoss_desktop.core.api.gate import EngineGate, GateBusy, GateCancelled
from gptoss_desktop.core.engine.client import wait_for
from gptoss_desktop.core.harmony.cancel import CancelToken
from tests.api.conftest import Served, openai, serve, shutdown
from tests.helpers import project_model


# --- the gate alone ---------------------------------------------------------------------------------
def test_gate_serves_window_and_api_first_come_first_served() -> None:
    gate = EngineGate(max_waiting=4)
    order: list[str] = []
    gate.acquire("window", bounded=False)
    threads = []
    for i, who in enumerate(["api", "window", "api", "window"]):

        def take(who: str = who, i: int = i) -> None:
            with gate.turn(who, bounded=who == "api"):
                order.append(f"{who}{i}")

        t = threading.Thread(target=take)
        t.start()
        threads.append(t)
        assert wait_for(lambda i=i: gate.state.waiting == i + 1, 5)
    assert gate.state.api_active and gate.state.holder == "window"
    gate.release()
    for t in threads:
        t.join(5)
    assert order == ["api0", "window1", "api2", "window3"]
    assert gate.state == type(gate.state)(None, 0, False)


def test_gate_bound_applies_to_api_callers_only() -> None:
    gate = EngineGate(max_waiting=1)
    gate.acquire("window", bounded=False)
    waiter = threading.Thread(target=lambda: gate.acquire("api"))
    waiter.start()
    assert wait_for(lambda: gate.state.waiting == 1, 5)
    with pytest.raises(GateBusy) as info:
        gate.acquire("api")
    assert info.value.retry_after_s >= 1
    window = threading.Thread(target=lambda: gate.acquire("window", bounded=False))
    window.start()  # the window is never refused
    assert wait_for(lambda: gate.state.waiting == 2, 5)
    gate.release()
    assert wait_for(lambda: gate.state.holder == "api", 5)
    gate.release()
    window.join(5)
    assert gate.state.holder == "window"


def test_gate_waiter_leaves_the_queue_when_cancelled() -> None:
    gate = EngineGate()
    gate.acquire("window", bounded=False)
    cancel = CancelToken()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            gate.acquire("api", cancel=cancel)
        except GateCancelled as exc:
            errors.append(exc)

    t = threading.Thread(target=wait)
    t.start()
    assert wait_for(lambda: gate.state.waiting == 1, 5)
    cancel.cancel()
    t.join(5)
    assert len(errors) == 1 and gate.state.waiting == 0 and gate.state.holder == "window"


# --- through the server -------------------------------------------------------------------------------
@pytest.fixture
def small_queue() -> Iterator[Served]:
    served = serve(project_model("tiny-harmony.gguf"), max_waiting=1)
    yield served
    shutdown(served)


def hello(served: Served, name: str = "Bob") -> dict[str, Any]:
    return {
        "model": "tiny-harmony",
        "messages": [{"role": "user", "content": f"Say hello to {name}."}],
        "temperature": 0,
    }


def test_queue_bound_gives_429_with_retry_after(small_queue: Served) -> None:
    gate = small_queue.host.gate
    gate.acquire("window", bounded=False)  # the window is generating
    results: list[httpx.Response] = []
    waiting = threading.Thread(
        target=lambda: results.append(
            httpx.post(
                small_queue.url + "/v1/chat/completions", json=hello(small_queue), timeout=30
            )
        )
    )
    waiting.start()
    assert wait_for(lambda: gate.state.waiting == 1, 10)
    with pytest.raises(openai.RateLimitError) as info:
        small_queue.client().chat.completions.create(**hello(small_queue, "Eve"))
    response = info.value.response
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert info.value.code == "rate_limit_exceeded"
    assert response.json()["error"]["type"] == "rate_limit_error"
    gate.release()  # the window's turn ends: the waiting request runs
    waiting.join(30)
    assert results[0].status_code == 200
    assert results[0].json()["choices"][0]["message"]["content"] == "Hello, Bob!"


def raw_request(served: Served, body: dict[str, Any]) -> socket.socket:
    data = json.dumps(body).encode()
    port = int(served.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    sock.sendall(head.encode() + data)
    return sock


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_disconnects_while_queued_leaves_the_queue(
    small_queue: Served, stream: bool
) -> None:
    gate = small_queue.host.gate
    gate.acquire("window", bounded=False)
    try:
        sock = raw_request(small_queue, {**hello(small_queue), "stream": stream})
        assert wait_for(lambda: gate.state.waiting == 1, 10)
        sock.close()
        assert wait_for(lambda: gate.state.waiting == 0, 10)
        assert gate.state.holder == "window"
    finally:
        gate.release()
    r = small_queue.client().chat.completions.create(**hello(small_queue, "Ivan"))
    assert r.choices[0].message.content == "Hello, Ivan!"


@pytest.fixture(scope="module")
def noise() -> Iterator[Served]:
    """The random-weight gpt-oss model: it writes until told to stop."""
    served = serve(project_model("tiny-gptoss-random.gguf"), n_ctx=4096)
    yield served
    shutdown(served)


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_disconnects_cancels_its_generation(noise: Served, stream: bool) -> None:
    engine = noise.engine
    by_text = engine.special_tokens()["by_text"]
    stops = [by_text[t] for t in ("<|return|>", "<|call|>", "<|endoftext|>")]
    body = {
        "model": "tiny-gptoss-random",
        "messages": [{"role": "user", "content": "Write forever."}],
        "max_tokens": 100_000,  # clamped to what the context holds
        "logit_bias": {str(t): -100 for t in stops},
        "stream": stream,
    }
    # the whole generation, for comparison: fills the context
    started = time.monotonic()
    full = httpx.post(
        noise.url + "/v1/chat/completions", json={**body, "stream": False}, timeout=120
    )
    full_s = time.monotonic() - started
    assert full.json()["choices"][0]["finish_reason"] == "length"
    full_tokens = full.json()["usage"]["completion_tokens"]
    assert full_tokens > 3000

    # The client replaces this list when a generation ends (its "done"); a request cancelled
    # before the model evaluated anything leaves it as the full generation left it.
    after_full = engine.evaluated_tokens
    sock = raw_request(noise, body)
    gate = noise.host.gate
    assert wait_for(lambda: gate.state.holder == "api", 10)
    if stream:
        assert b"data: " in sock.recv(65536)  # generation under way
    else:
        time.sleep(min(0.05, full_s / 10))
    sock.close()
    # Wait as long as the whole generation could take (a loaded machine runs it slower):
    # what proves the cancel is the token count below, not how soon the model is free.
    assert wait_for(lambda: gate.state.holder is None, max(10.0, 3 * full_s))
    evaluated = engine.evaluated_tokens
    generated = 0 if evaluated is after_full else len(evaluated) - 100  # minus about the prompt
    assert generated < full_tokens / 2, (generated, full_tokens)
