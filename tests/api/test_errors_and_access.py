"""Every refusal of the local API, as OpenAI-style errors; the key; Host and Origin checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gptoss_desktop.api.server import ApiServer, ApiServerError, ServerConfig
from gptoss_desktop.core.api.service import ApiService
from tests.api.conftest import GET_WEATHER, Served, openai

MODEL = "tiny-harmony"
KEY = "sk-local-test-key"


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) >= {"message", "type", "code"}
    assert isinstance(err["message"], str) and err["message"]
    return err


def post(served: Served, path: str, body: Any, **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    return httpx.post(served.url + path, content=content, headers=headers, timeout=30, **kw)


def chat_body(**kw: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hello to Bob."}],
        "temperature": 0,
        **kw,
    }


def test_malformed_json(harmony: Served) -> None:
    err = error_of(post(harmony, "/v1/chat/completions", b'{"model": "tiny-harmony",'), 400)
    assert err["type"] == "invalid_request_error" and err["code"] == "invalid_json"
    assert "could not parse the JSON body" in err["message"]


def test_body_not_an_object_and_missing_fields(harmony: Served) -> None:
    assert "JSON object" in error_of(post(harmony, "/v1/chat/completions", [1, 2]), 400)["message"]
    err = error_of(post(harmony, "/v1/chat/completions", {"model": MODEL}), 400)
    assert "messages" in err["message"] and err["param"] == "messages"
    err = error_of(post(harmony, "/v1/chat/completions", chat_body(temperature=7)), 400)
    assert err["param"] == "temperature"
    err = error_of(post(harmony, "/v1/responses", {"model": MODEL}), 400)
    assert err["param"] == "input"


def test_unknown_model_is_404_with_the_openai_client(harmony: Served) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        harmony.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert info.value.code == "model_not_found"
    assert "tiny-harmony" in info.value.message  # says what is available
    with pytest.raises(openai.NotFoundError):
        harmony.client().responses.create(model="nope", input="hi")
    with pytest.raises(openai.NotFoundError):
        harmony.client().models.retrieve("nope")


def test_unknown_route_and_method(harmony: Served) -> None:
    r = httpx.get(harmony.url + "/v1/embeddings", timeout=10)
    assert error_of(r, 404)["code"] == "unknown_url"
    r = httpx.delete(harmony.url + "/v1/chat/completions", timeout=10)
    error_of(r, 405)


def test_body_over_the_size_limit_is_413(harmony: Served) -> None:
    big = chat_body(messages=[{"role": "user", "content": "x" * (9 * 1024 * 1024)}])
    err = error_of(post(harmony, "/v1/chat/completions", big), 413)
    assert err["code"] == "request_too_large" and "8 MiB" in err["message"]


def test_body_over_the_limit_without_content_length_is_413(harmony: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "tiny-harmony", "messages": [{"role": "user", "content": "'
        for _ in range(9 * 16):
            yield b"y" * 65536
        yield b'"}]}'

    r = httpx.post(
        harmony.url + "/v1/chat/completions",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert error_of(r, 413)["code"] == "request_too_large"


def test_prompt_larger_than_the_context_says_how_large(harmony: Served) -> None:
    n_ctx = harmony.engine.info.n_ctx
    long = " ".join(["Paris"] * (n_ctx + 50))
    with pytest.raises(openai.BadRequestError) as info:
        harmony.client().chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": long}]
        )
    assert info.value.code == "context_length_exceeded"
    assert f"maximum context length is {n_ctx} tokens" in info.value.message
    needed = int(info.value.message.split("resulted in ")[1].split(" ")[0])
    assert needed > n_ctx


@pytest.mark.parametrize(
    ("tools", "code"),
    [
        ([{"type": "function", "function": {**GET_WEATHER, "parameters": {"type": "string"}}}],
         "invalid_function_parameters"),
        ([{"type": "function", "function": {**GET_WEATHER, "parameters": [1]}}],
         "invalid_function_parameters"),
        ([{"type": "function", "function": {**GET_WEATHER, "parameters": {
            "type": "object", "properties": {"a": 3}}}}], "invalid_function_parameters"),
        ([{"type": "function", "function": {**GET_WEATHER, "parameters": {
            "type": "object", "required": "location"}}}], "invalid_function_parameters"),
        ([{"type": "function", "function": {**GET_WEATHER, "name": "get weather!"}}],
         "invalid_function_name"),
        ([{"type": "web_search"}], "unsupported_tool_type"),
    ],
)  # fmt: skip
def test_invalid_tool_schema(harmony: Served, tools: list[Any], code: str) -> None:
    err = error_of(post(harmony, "/v1/chat/completions", chat_body(tools=tools)), 400)
    assert err["code"] == code and err["param"].startswith("tools[0]")


def test_unknown_fields_are_ignored(harmony: Served) -> None:
    body = chat_body(frobnicate=True, logit_bias={}, user="me", metadata={"a": "b"})
    body["messages"][0]["extra"] = 1
    r = post(harmony, "/v1/chat/completions", body)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "Hello, Bob!"


def test_images_and_unknown_tool_ids_are_refused_clearly(harmony: Served) -> None:
    parts = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    err = error_of(
        post(
            harmony,
            "/v1/chat/completions",
            chat_body(messages=[{"role": "user", "content": parts}]),
        ),
        400,
    )
    assert "text only" in err["message"]
    body = chat_body(messages=[{"role": "tool", "tool_call_id": "call_x", "content": "{}"}])
    err = error_of(post(harmony, "/v1/chat/completions", body), 400)
    assert "call_x" in err["message"]
    err = error_of(
        post(
            harmony,
            "/v1/responses",
            {"model": MODEL, "input": "hi", "previous_response_id": "resp_nope"},
        ),
        404,
    )
    assert err["code"] == "previous_response_not_found"


# --- the key ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def locked(harmony: Served) -> Iterator[Served]:
    """A second server on the same model and queue, with a key and an allowed origin."""
    config = ServerConfig(port=0, api_key=KEY, allowed_origins=("http://localhost:3000",))
    server = ApiServer(ApiService(harmony.host, harmony.responses), config)
    url = server.start()
    yield Served(url, server, harmony.host, harmony.engine, harmony.responses)
    server.stop()


def test_missing_and_wrong_key_are_401(locked: Served) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        locked.client(api_key="sk-wrong").models.list()
    assert info.value.code == "invalid_api_key" and "Incorrect API key" in info.value.message
    r = httpx.get(locked.url + "/v1/models", timeout=10)
    assert "didn't provide an API key" in error_of(r, 401)["message"]
    err = error_of(post(locked, "/v1/chat/completions", chat_body()), 401)
    assert err["code"] == "invalid_api_key"
    assert [m.id for m in locked.client(api_key=KEY).models.list().data] == [MODEL]
    r = httpx.get(locked.url + "/v1/models", headers={"x-api-key": KEY}, timeout=10)
    assert r.status_code == 200


def test_another_interface_needs_a_key() -> None:
    with pytest.raises(ApiServerError, match="needs an API key"):
        ApiServer(ApiService.__new__(ApiService), ServerConfig(host="0.0.0.0", port=0))


# --- Host and Origin ------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8977", "127.0.0.1.nip.io", ""])
def test_foreign_host_header_is_refused(harmony: Served, host: str) -> None:
    """DNS rebinding: a page's own name resolved to 127.0.0.1 arrives with its Host."""
    r = httpx.get(harmony.url + "/v1/models", headers={"Host": host}, timeout=10)
    assert error_of(r, 403)["code"] == "host_not_allowed"
    r = post(harmony, "/v1/chat/completions", chat_body(), headers={"Host": host})
    assert r.status_code == 403


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:1", "LOCALHOST:8977", "[::1]:8977"])
def test_loopback_host_names_pass(harmony: Served, host: str) -> None:
    r = httpx.get(harmony.url + "/v1/models", headers={"Host": host}, timeout=10)
    assert r.status_code == 200


def test_cross_origin_browser_requests_are_refused(harmony: Served) -> None:
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:9"},
    ):
        r = post(harmony, "/v1/chat/completions", chat_body(), headers=headers)
        assert error_of(r, 403)["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in r.headers
    pre = httpx.options(
        harmony.url + "/v1/chat/completions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers


def test_an_allowed_origin_gets_cors(locked: Served) -> None:
    origin = "http://localhost:3000"
    pre = httpx.options(
        locked.url + "/v1/chat/completions",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == origin
    r = httpx.get(
        locked.url + "/v1/models",
        headers={"Origin": origin, "Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
    r = httpx.get(
        locked.url + "/v1/models", headers={"Origin": "http://localhost:3001"}, timeout=10
    )
    assert r.status_code == 403
