"""An MCP server the tests run, written with the same SDK the app uses (mcp 2.x MCPServer).

Run as ``python server_app.py`` (stdio) or ``python server_app.py http PORT`` (streamable
HTTP on 127.0.0.1). Its tools: ``get_weather`` (the tiny test model's trained call),
``plan_trip`` (nested schema), ``slow`` (sleeps), ``crash`` (the process dies), ``freeze``
(the process hangs), ``huge``
(a result of N characters), ``picture`` (an image and a resource), ``grow`` (adds a tool
and sends notifications/tools/list_changed), ``junk`` (writes a line that is not JSON-RPC),
``fail`` (a tool error), ``whoami`` (the process id, to see restarts). With
GPTOSS_TEST_MCP_LOG set, ``get_weather`` logs its calls there; with
GPTOSS_TEST_MCP_CRASH_ONCE, its first call kills the server.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import time
from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import EmbeddedResource, ImageContent, TextContent, TextResourceContents
from pydantic import BaseModel, Field

server = MCPServer("gptoss-test-server", instructions="A server for the tests.")

WEATHER = {
    "tokyo": {"temperature": 17, "condition": "cloudy"},
    "paris": {"temperature": 21, "condition": "sunny"},
}


class Place(BaseModel):
    city: str = Field(description="City name")
    country: str | None = None


class Leg(BaseModel):
    origin: Place
    destination: Place
    mode: Literal["train", "plane", "bus"] = "train"


@server.tool()
def get_weather(location: Annotated[str, Field(description="The city name, e.g. Tokyo")]) -> str:
    """Gets the current weather in the provided location."""
    if os.environ.get("GPTOSS_TEST_MCP_LOG"):  # the tests see which calls really ran
        with open(os.environ["GPTOSS_TEST_MCP_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"location": location}) + "\n")
    once = os.environ.get("GPTOSS_TEST_MCP_CRASH_ONCE")
    if once and not os.path.exists(once):  # the first call kills the server
        open(once, "w").close()
        os._exit(3)
    found = WEATHER.get(location.strip().lower())
    if found is None:
        return json.dumps({"error": f"no weather known for {location}"})
    return json.dumps(found)


@server.tool()
def plan_trip(legs: list[Leg], travellers: int = 1, notes: str | None = None) -> dict[str, object]:
    """Plans a trip over several legs."""
    return {
        "legs": len(legs),
        "route": [f"{leg.origin.city}->{leg.destination.city} by {leg.mode}" for leg in legs],
        "travellers": travellers,
    }


@server.tool()
def slow(seconds: float) -> str:
    """Sleeps for a while, then answers."""
    time.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def crash() -> str:
    """Makes the server process die."""
    sys.stderr.write("test server: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def freeze() -> str:
    """Stops the whole server process (SIGSTOP): it hangs and answers nothing, pings included."""
    os.kill(os.getpid(), signal.SIGSTOP)
    return "thawed"


@server.tool()
def huge(size: int) -> str:
    """Returns a result of `size` characters."""
    return "x" * size


@server.tool()
def picture() -> list[object]:
    """Returns an image and an embedded resource."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(92)).decode()
    return [
        TextContent(type="text", text="Here is the chart."),
        ImageContent(type="image", data=png, mime_type="image/png"),
        EmbeddedResource(
            type="resource",
            resource=TextResourceContents(
                uri="file:///notes.txt", mime_type="text/plain", text="note body"
            ),
        ),
    ]


@server.tool()
async def grow(name: str, ctx: Context) -> str:
    """Adds a tool called `name` and tells the client the tool list changed."""

    def added() -> str:
        return f"{name} ran"

    server.add_tool(added, name=name, description=f"A tool added at run time: {name}")
    await ctx.request_context.session.send_tool_list_changed()
    return f"added {name}"


@server.tool()
def junk() -> str:
    """Writes a line that is not JSON-RPC to the protocol stream, then answers."""
    os.write(1, b"this line is not JSON-RPC {{{\n")
    return "junk written"


@server.tool()
def fail(reason: str) -> str:
    """Always fails with `reason`."""
    raise ValueError(reason)


@server.tool()
def whoami() -> str:
    """The server's process id."""
    return str(os.getpid())


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
