"""A stdio "MCP server" written by hand that speaks JSON-RPC but answers tools/call with a
result of the wrong shape (``content`` is not a list). For tests/core/tools/mcp."""

import json
import sys

for line in sys.stdin:
    msg = json.loads(line)
    sys.stderr.write(f"got {msg.get('method')}\n")
    if "id" not in msg:
        continue
    method, rid = msg.get("method"), msg["id"]
    if method == "initialize":
        result = {
            "protocolVersion": msg["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "bad", "version": "0"},
        }
    elif method == "tools/list":
        result = {"tools": [{"name": "broken", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        result = {"content": "this should be a list"}
    elif method == "ping":
        result = {}
    else:
        print(
            json.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}}),
            flush=True,
        )
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}), flush=True)
