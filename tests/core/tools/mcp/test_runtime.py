"""The MCP client against real servers: the SDK-written test server over stdio and over
streamable HTTP on loopback, and mcp-server-time from PyPI over stdio."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.mcp import (
    McpRuntime,
    McpServerConfig,
    McpServerError,
    McpTimeout,
    McpTool,
)
from tests.core.tools.mcp.conftest import stdio_config, time_config


def test_tools_and_calls_over_stdio(runtime: McpRuntime) -> None:
    config = stdio_config()
    names = [t.name for t in runtime.tools(config)]
    assert names[:3] == ["get_weather", "plan_trip", "slow"]
    assert runtime.info("testsrv").name == "gptoss-test-server"  # type: ignore[union-attr]
    result = runtime.call(config, "get_weather", {"location": "Tokyo"})
    assert (result.text, result.is_error) == ('{"temperature": 17, "condition": "cloudy"}', False)
    trip = runtime.call(config, "plan_trip", {
        "legs": [{"origin": {"city": "Oslo"}, "destination": {"city": "Bergen", "country": "NO"}, "mode": "bus"}],
        "travellers": 2,
    })  # fmt: skip
    assert json.loads(trip.text) == {"legs": 1, "route": ["Oslo->Bergen by bus"], "travellers": 2}


def test_a_tool_error_is_an_error_result(runtime: McpRuntime) -> None:
    result = runtime.call(stdio_config(), "fail", {"reason": "no such thing"})
    assert result.is_error and "fail" in result.text
    bad = runtime.call(stdio_config(), "plan_trip", {"legs": "not a list"})
    assert bad.is_error  # the server checks its own schema and says so


def test_images_and_resources_from_a_real_server(runtime: McpRuntime) -> None:
    result = runtime.call(stdio_config(), "picture", {})
    assert result.text.splitlines() == [
        "Here is the chart.",
        "[image: image/png, 100 bytes; not shown to the model]",
        "[resource file:///notes.txt (text/plain)]",
        "note body",
    ]


def test_a_slow_tool_times_out_and_the_server_stays(runtime: McpRuntime) -> None:
    config = stdio_config(timeout_s=1.0)
    pid = runtime.call(config, "whoami", {}).text
    started = time.monotonic()
    with pytest.raises(McpTimeout, match=r"slow on MCP server 'testsrv' did not finish within 1 s"):
        runtime.call(config, "slow", {"seconds": 30})
    assert time.monotonic() - started < 10
    assert runtime.call(config, "whoami", {}).text == pid  # same process, still answering


def test_a_crashing_server_says_so_and_restarts_on_the_next_call(runtime: McpRuntime) -> None:
    config = stdio_config()
    pid = runtime.call(config, "whoami", {}).text
    with pytest.raises(McpServerError) as caught:
        runtime.call(config, "crash", {})
    assert "stopped during the call" in caught.value.message
    assert "crashing on purpose" in caught.value.message  # its stderr, for the user
    assert "start again on the next call" in caught.value.message
    assert runtime.call(config, "whoami", {}).text != pid


@pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX")
def test_a_hung_server_is_stopped_and_restarts_on_the_next_call(runtime: McpRuntime) -> None:
    config = stdio_config(timeout_s=1.0)
    pid = runtime.call(config, "whoami", {}).text
    started = time.monotonic()
    with pytest.raises(McpTimeout) as caught:
        runtime.call(config, "freeze", {})
    assert caught.value.message == (
        "MCP server 'testsrv' did not answer within 1 s and stopped responding; it was "
        "stopped and will start again on the next call"
    )
    assert time.monotonic() - started < 20
    assert runtime.running() == []
    assert runtime.call(config, "whoami", {}).text != pid


def test_a_huge_result_is_capped(runtime: McpRuntime) -> None:
    config = stdio_config(output_cap=4096)
    result = runtime.call(config, "huge", {"size": 5_000_000})
    assert result.truncated and len(result.text) < 4200
    assert result.text.endswith("[... output cut at 4096 of 5000000 characters]")


def test_bad_json_rpc_on_the_stream_does_not_break_the_session(runtime: McpRuntime) -> None:
    config = stdio_config()
    assert runtime.call(config, "junk", {}).text == "junk written"
    assert "sunny" in runtime.call(config, "get_weather", {"location": "Paris"}).text


def test_a_malformed_result_is_an_error_and_the_server_stays(runtime: McpRuntime) -> None:
    server = Path(__file__).with_name("bad_rpc_server.py")
    config = McpServerConfig("bad", command=sys.executable, args=(str(server),), timeout_s=5)
    assert [t.name for t in runtime.tools(config)] == ["broken"]
    started = time.monotonic()
    with pytest.raises(McpServerError) as caught:
        runtime.call(config, "broken", {})
    assert caught.value.message.startswith(
        "MCP server 'bad' answered broken with something that is not an MCP result: "
    )
    assert time.monotonic() - started < 5
    assert runtime.running() == ["bad"]  # it still answers, so it keeps running


def test_a_server_that_speaks_no_mcp_gives_a_clear_error(runtime: McpRuntime) -> None:
    # prints garbage and never answers: the start times out, never hangs
    config = McpServerConfig(
        "mute", command=sys.executable,
        args=("-c", "import time,sys; print('hello, I am not MCP'); sys.stdout.flush(); time.sleep(60)"),
        timeout_s=1.0,
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(McpTimeout, match="did not answer within 11 s of starting"):
        runtime.tools(config)
    assert time.monotonic() - started < 20


def test_a_missing_program_gives_a_clear_error(runtime: McpRuntime) -> None:
    config = McpServerConfig("none", command="/nonexistent/mcp-server-nothing")
    with pytest.raises(McpServerError, match=r"did not start .*not found"):
        runtime.tools(config)


def test_a_server_that_exits_at_once_shows_its_last_words(runtime: McpRuntime) -> None:
    config = McpServerConfig(
        "quits", command=sys.executable,
        args=("-c", "import sys; sys.stderr.write('missing API key\\n'); sys.exit(2)"),
    )  # fmt: skip
    with pytest.raises(McpServerError, match=r"did not start.*It said: missing API key"):
        runtime.tools(config)


def test_list_changed_updates_the_tools() -> None:
    heard: list[tuple[str, list[McpTool]]] = []
    changed = threading.Event()

    def on_changed(server: str, tools: list[McpTool]) -> None:
        heard.append((server, tools))
        changed.set()

    with McpRuntime(on_tools_changed=on_changed) as runtime:
        config = stdio_config()
        assert "search_notes" not in [t.name for t in runtime.tools(config)]
        assert runtime.call(config, "grow", {"name": "search_notes"}).text == "added search_notes"
        assert changed.wait(10)
        server, tools = heard[-1]
        assert server == "testsrv"
        assert "search_notes" in [t.name for t in tools]
        assert "search_notes" in [t.name for t in runtime.tools(config)]
        assert runtime.call(config, "search_notes", {}).text == "search_notes ran"


def test_stop_and_close_end_the_server_processes(runtime: McpRuntime) -> None:
    import os

    config = stdio_config()
    pid = int(runtime.call(config, "whoami", {}).text)
    assert runtime.running() == ["testsrv"]
    runtime.stop("testsrv")
    assert runtime.running() == []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the server process is still there after stop()")


def test_mcp_server_time_from_pypi_over_stdio(runtime: McpRuntime) -> None:
    config = time_config()
    names = [t.name for t in runtime.tools(config)]
    assert names == ["get_current_time", "convert_time"]
    result = runtime.call(config, "convert_time", {
        "source_timezone": "Europe/Paris", "time": "12:00", "target_timezone": "Asia/Tokyo"})  # fmt: skip
    data = json.loads(result.text)
    assert data["source"]["datetime"].endswith("T12:00:00+01:00") or data["source"]["is_dst"]
    assert data["target"]["timezone"] == "Asia/Tokyo"
    assert data["time_difference"] in ("+8.0h", "+7.0h")
    bad = runtime.call(config, "get_current_time", {"timezone": "Mars/Olympus"})
    assert bad.is_error and "Mars/Olympus" in bad.text


def test_the_sdk_server_over_streamable_http_on_loopback(
    runtime: McpRuntime, http_url: str
) -> None:
    config = McpServerConfig("web", "http", url=http_url, timeout_s=5)
    assert "get_weather" in [t.name for t in runtime.tools(config)]
    assert (
        runtime.call(config, "get_weather", {"location": "Tokyo"}).text
        == '{"temperature": 17, "condition": "cloudy"}'
    )
    trip = runtime.call(
        config, "plan_trip", {"legs": [{"origin": {"city": "A"}, "destination": {"city": "B"}}]}
    )
    assert json.loads(trip.text)["route"] == ["A->B by train"]
    with pytest.raises(McpTimeout):
        runtime.call(
            McpServerConfig("web", "http", url=http_url, timeout_s=1), "slow", {"seconds": 5}
        )
    assert runtime.call(config, "huge", {"size": 100_000}).truncated


def test_an_http_server_that_is_not_there(runtime: McpRuntime) -> None:
    config = McpServerConfig("gone", "http", url="http://127.0.0.1:9/mcp", timeout_s=2)
    with pytest.raises(
        McpServerError, match=r"MCP server 'gone' did not start \(http://127.0.0.1:9/mcp\)"
    ):
        runtime.tools(config)
