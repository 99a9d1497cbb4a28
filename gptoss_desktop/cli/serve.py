"""``gptoss-desktop serve``: the local OpenAI-compatible API without the window.

Loads the model, listens on 127.0.0.1 (``--host`` for another interface: a warning, and a key
is required), prints exactly one line ``listening on http://127.0.0.1:N`` on stdout once the
server answers, and stops cleanly on SIGTERM or Ctrl+C (running generations are cancelled,
the worker is closed). See docs/API.md.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gptoss_desktop.api.server import DEFAULT_PORT

    p = sub.add_parser("serve", help="serve a model to other programs (OpenAI-compatible API)")
    p.add_argument("--model", default=None, help="model file path or installed model name")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free port"
    )
    p.add_argument("--host", default="127.0.0.1", help="interface (default loopback only)")
    p.add_argument(
        "--api-key", default=None,
        help="require this key; 'stored' uses the key kept in the keychain (made if missing)",
    )  # fmt: skip
    p.add_argument(
        "--allow-origin", action="append", default=[],
        help="a browser origin allowed to call the API (e.g. http://localhost:3000)",
    )  # fmt: skip
    p.add_argument("--ctx", type=int, default=8192, help="context length (tokens)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--gpu-layers", type=int, default=-1, help="layers to offload (-1: all)")
    p.add_argument("--max-waiting", type=int, default=8, help="queued requests before 429")
    p.add_argument(
        "--forget-responses", action="store_true",
        help="delete the stored responses (previous_response_id) and exit",
    )  # fmt: skip
    p.set_defaults(func=run)


def resolve_model(spec: str | None, models_dir: Path) -> tuple[str, Path]:
    """(served id, path) for a path or an installed model's name."""
    from gptoss_desktop.core.errors import LibraryError
    from gptoss_desktop.core.library.installed import InstalledModels

    library = InstalledModels(models_dir)
    if spec is None:
        present = [m for m in library.list() if m.present]
        if len(present) != 1:
            names = ", ".join(m.name for m in present) or "none installed"
            raise LibraryError(f"choose a model with --model PATH|NAME (installed: {names})")
        return present[0].name, present[0].path
    path = Path(spec).expanduser()
    if path.is_file():
        for m in library.list():
            if path.resolve() in (Path(f).resolve() for f in m.files):
                return m.name, m.path
        return path.stem, path
    model = library.get(spec)
    return model.name, model.path


def run(args: argparse.Namespace) -> int:
    from gptoss_desktop.api.server import ApiServer, ServerConfig
    from gptoss_desktop.core.api.gate import EngineGate
    from gptoss_desktop.core.api.keys import ApiKeyStore
    from gptoss_desktop.core.api.service import ApiService, EngineHost
    from gptoss_desktop.core.engine import EngineClient, LoadOptions
    from gptoss_desktop.core.library.installed import InstalledModels
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.core.store.database import Database
    from gptoss_desktop.core.store.responses import ResponseStore

    paths = AppPaths.from_env().ensure()
    db = Database(paths.database)
    try:
        responses = ResponseStore(db)
        if args.forget_responses:
            n = responses.clear()
            print(f"forgot {n} stored responses", file=sys.stderr)
            return 0
        config = ServerConfig(
            host=args.host, port=args.port, allowed_origins=tuple(args.allow_origin)
        )
        key = args.api_key
        if key == "stored" or (key is None and not config.is_loopback):
            keys = ApiKeyStore()
            key = keys.get_or_create()
            if args.api_key is None:
                where = (
                    "kept in the keychain"
                    if keys.where == "keychain"
                    else f"for this run only: {keys.keychain_problem}"
                )
                print(f"API key ({where}): {key}", file=sys.stderr)
        config.api_key = key
        if not config.is_loopback:
            print(
                f"warning: serving on {args.host}: other machines on the network can reach the "
                "model; every request must carry the API key",
                file=sys.stderr,
            )
        served, path = resolve_model(args.model, paths.models_dir)
        options = LoadOptions(n_ctx=args.ctx, n_threads=args.threads, n_gpu_layers=args.gpu_layers)

        def load(p: Path) -> EngineClient:
            return EngineClient.start(p, options)

        def catalog() -> dict[str, Path]:
            return {m.name: m.path for m in InstalledModels(paths.models_dir).list() if m.present}

        host = EngineHost(EngineGate(args.max_waiting), catalog=catalog, loader=load)
        host.set_loaded(served, path, load(path), owned=True)
        server = ApiServer(ApiService(host, responses), config)
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            url = server.start()
            print(f"listening on {url}", flush=True)
            while not stop.wait(0.5):
                if not server.running:
                    print("error: the server stopped", file=sys.stderr)
                    return 1
        finally:
            server.stop()
            host.close()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 0
    finally:
        db.close()
