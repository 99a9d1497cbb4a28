"""``gptoss-desktop tool``: run the chat's tools from the command line.

``tool python FILE [--json]`` runs a file through the very sandbox the chat uses (JSON keys:
stdout, stderr, error, timed_out). ``tool browser --docs DIR search|open|find ...`` uses the
offline browser over DIR; the page stack is kept between runs (per folder) so ``open 0``
opens result 0 of the last search, as the model would. ``tool check`` reports whether this
machine can confine the python tool and with which layers.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from gptoss_desktop.cli import terminal
from gptoss_desktop.cli.common import print_json
from gptoss_desktop.core.errors import ToolError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tool", help="run the python sandbox or the offline browser directly")
    tools = p.add_subparsers(dest="tool", metavar="TOOL", required=True)

    py = tools.add_parser("python", help="run a Python file in the python tool's sandbox")
    py.add_argument("file", help="the file to run (- reads standard input)")
    py.add_argument(
        "--json", action="store_true", help="one JSON object: stdout, stderr, error, timed_out"
    )
    py.add_argument(
        "--scratch", type=Path, help="scratch folder to use and keep (default: a temporary one)"
    )
    py.add_argument(
        "--timeout", type=float, default=120.0, help="wall-clock limit in seconds (default 120)"
    )
    py.add_argument(
        "--cpu", type=float, default=30.0, help="CPU-time limit in seconds (default 30)"
    )
    py.add_argument(
        "--memory-mb", type=int, default=1024, help="memory limit in MiB (default 1024)"
    )
    py.add_argument("--no-namespaces", action="store_true", help="do not use Linux namespaces")
    py.set_defaults(func=run_python)

    br = tools.add_parser("browser", help="search, open and find in a folder of documents, offline")
    br.add_argument("--docs", type=Path, required=True, help="the folder of documents")
    br.add_argument("--new", action="store_true", help="forget the pages of earlier runs first")
    br.add_argument("--json", action="store_true", help="one JSON object: text, is_error, cursor")
    actions = br.add_subparsers(dest="action", metavar="ACTION", required=True)
    search = actions.add_parser("search", help="search the documents")
    search.add_argument("query", nargs="+")
    search.add_argument("--topn", type=int, default=10)
    opener = actions.add_parser("open", help="open a result (its number) or a document (its path)")
    opener.add_argument("id", nargs="?", default="-1")
    opener.add_argument("--cursor", type=int, default=-1)
    opener.add_argument("--loc", type=int, default=-1)
    opener.add_argument("--num-lines", type=int, default=-1)
    opener.add_argument("--view-source", action="store_true")
    finder = actions.add_parser("find", help="find text in the current page (or --cursor)")
    finder.add_argument("pattern", nargs="+")
    finder.add_argument("--cursor", type=int, default=-1)
    br.set_defaults(func=run_browser)

    check = tools.add_parser("check", help="can this machine confine the python tool?")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=run_check)


def _read_code(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise ToolError(f"{name}: cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ToolError(f"{name}: not a UTF-8 text file") from None


def run_python(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.core.tools.sandbox.process import PythonSandbox, SandboxLimits

    code = _read_code(args.file)
    limits = SandboxLimits(
        wall_s=args.timeout, cpu_s=args.cpu, memory_bytes=args.memory_mb * 1024 * 1024
    )
    temporary = None
    scratch = args.scratch
    if scratch is None:
        cache = AppPaths.from_env().ensure().cache_dir
        temporary = scratch = Path(tempfile.mkdtemp(prefix="tool-python-", dir=cache))
    try:
        namespaces = "off" if args.no_namespaces else "auto"
        with PythonSandbox(scratch, limits, namespaces=namespaces) as box:
            result = box.run(code)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    if args.json:
        print_json(
            {
                "stdout": result.stdout,
                "stderr": result.stderr,
                "error": result.error,
                "timed_out": result.timed_out,
            }
        )
    else:  # what the code printed may hold terminal escapes (clipboard, title): shown escaped
        terminal.write(sys.stdout, result.stdout)
        sys.stdout.flush()
        terminal.write(sys.stderr, result.stderr)
        if result.error:
            terminal.write(sys.stderr, result.error.rstrip("\n") + "\n")
    return 0 if result.error is None else 1


def run_browser(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.core.tools.browser import BrowserSession, DocumentIndex, default_index_path

    paths = AppPaths.from_env().ensure()
    index_path = default_index_path(paths, args.docs)
    state_path = index_path.with_suffix(".session.json")
    with DocumentIndex(args.docs, index_path) as index:
        index.refresh()
        session = BrowserSession(index)
        if state_path.is_file() and not args.new:
            try:
                session.restore(state_path.read_text(encoding="utf-8"))
            except (ValueError, KeyError, TypeError):
                session.pages = []  # a state file from another version: start again
        if args.action == "search":
            arguments: dict[str, object] = {"query": " ".join(args.query), "topn": args.topn}
        elif args.action == "open":
            ident: int | str = int(args.id) if args.id.lstrip("-").isdigit() else args.id
            arguments = {
                "id": ident,
                "cursor": args.cursor,
                "loc": args.loc,
                "num_lines": args.num_lines,
                "view_source": args.view_source,
            }
        else:
            arguments = {"pattern": " ".join(args.pattern), "cursor": args.cursor}
        result = session.handle(f"browser.{args.action}", arguments)
        state_path.write_text(session.state(), encoding="utf-8")
    if args.json:
        print_json(
            {"text": result.text, "is_error": result.is_error, "cursor": session.current_cursor}
        )
    elif result.is_error:
        print(terminal.for_terminal(sys.stderr, f"error: {result.text}"), file=sys.stderr)
    else:
        print(terminal.for_terminal(sys.stdout, result.text))
    return 1 if result.is_error else 0


def run_check(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.errors import SandboxUnavailable
    from gptoss_desktop.core.tools.sandbox.process import PythonSandbox

    with tempfile.TemporaryDirectory(prefix="gptoss-sandbox-check-") as scratch:
        try:
            with PythonSandbox(Path(scratch)) as box:
                result = box.run("print(6 * 7)")
                info = box.info
        except SandboxUnavailable as exc:
            if args.json:
                print_json({"available": False, "reason": exc.message})
            else:
                print(f"python tool: off ({exc.message})")
            return 1
    ok = result.stdout == "42\n"
    layers = list(info.layers) if info else []
    start_ms = round(info.start_s * 1000, 1) if info else None
    if args.json:
        print_json({"available": ok, "layers": layers, "start_ms": start_ms})
    else:
        print(f"python tool: {'available' if ok else 'broken'}; layers: {', '.join(layers)}")
        print(f"sandbox start: {start_ms} ms")
    return 0 if ok else 1
