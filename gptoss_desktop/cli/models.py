"""``gptoss-desktop models``: list, download, verify, import, remove and inspect models."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gptoss_desktop.cli.common import print_json

if TYPE_CHECKING:
    from gptoss_desktop.core.library import TaskSnapshot


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "models", help="list, download, verify, import, remove and inspect models"
    )
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    s = sub.add_parser("list", help="installed models and the catalog, with a fit verdict")
    s.add_argument("--json", action="store_true", help="one JSON object on stdout")
    s.add_argument("--ctx", type=int, default=8192, help="context length for the fit verdict")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser(
        "download", help="download a GGUF file (all shards) from Hugging Face; resumes"
    )
    s.add_argument("repo", metavar="REPO", help="e.g. ggml-org/gpt-oss-20b-GGUF")
    s.add_argument("file", metavar="FILE", help="e.g. gpt-oss-20b-mxfp4.gguf (or its first shard)")
    s.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    s.set_defaults(func=cmd_download)

    s = sub.add_parser("verify", help="check an installed model (or any .gguf) byte for byte")
    s.add_argument("target", metavar="NAME|PATH")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("import", help="add a local .gguf file or a folder of them")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--link", action="store_true", help="leave the files where they are (no copy)")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("remove", help="remove an installed model (linked files are left alone)")
    s.add_argument("name", metavar="NAME")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser(
        "discover",
        help="find GGUF models LM Studio, the Hugging Face cache and Ollama keep (no network)",
    )
    s.add_argument("--json", action="store_true", help="one JSON object on stdout")
    s.add_argument(
        "--deadline", type=float, default=5.0, help="stop scanning after this many seconds"
    )
    s.set_defaults(func=cmd_discover)

    s = sub.add_parser("info", help="what a GGUF file holds, read with hard limits")
    s.add_argument("path", metavar="PATH|NAME")
    s.add_argument("--json", action="store_true")
    s.add_argument("--ctx", type=int, default=None, help="context length for the fit verdict")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser(
        "add-repo", help="add every GGUF model of a Hugging Face repo to the catalog"
    )
    s.add_argument("repo", metavar="REPO")
    s.add_argument("--revision", default="main")
    s.set_defaults(func=cmd_add_repo)

    s = sub.add_parser(
        "token", help="store the Hugging Face token in the OS keychain (read from stdin)"
    )
    s.add_argument("--clear", action="store_true", help="forget the stored token")
    s.set_defaults(func=cmd_token)


# --- helpers -----------------------------------------------------------------------------------


def _paths() -> Any:
    from gptoss_desktop.core.paths import AppPaths

    return AppPaths.from_env()


def _library() -> Any:
    from gptoss_desktop.core.library import InstalledModels

    return InstalledModels(_paths().models_dir)


def _size(n: int | None) -> str:
    if not n:
        return "?"
    return f"{n / 1024**3:.2f} GiB" if n >= 1024**3 else f"{n / 1024**2:.1f} MiB"


# --- commands ----------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.library import Catalog, ModelShape, detect_memory, estimate_fit

    paths = _paths()
    installed = _library().list()
    catalog = Catalog.load(paths.config_dir)
    memory = detect_memory()
    have = {(m.source.get("repo"), tuple(m.source.get("files") or [])) for m in installed}
    rows = []
    for e in catalog.entries:
        shape = ModelShape.from_catalog(e)
        ctx = min(args.ctx, e.context_length or args.ctx)
        fit = estimate_fit(shape, memory, ctx) if shape else None
        rows.append(
            {
                **e.to_dict(),
                "installed": (e.repo, tuple(e.files)) in have,
                "fit": fit.verdict if fit else None,
                "fit_message": fit.message if fit else None,
            }
        )
    if args.json:
        print_json(
            {
                "installed": [m.to_dict() for m in installed],
                "catalog": rows,
                "memory": memory.to_dict(),
            }
        )
        return 0
    print(f"Installed ({len(installed)}):")
    for m in installed:
        flag = "" if m.present else "  [files missing]"
        print(f"  {m.name:<40} {_size(m.size_bytes):>10}  {m.path}{flag}")
    print(
        f"\nCatalog (fit at {args.ctx} tokens; RAM {_size(memory.available_ram)} free of {_size(memory.total_ram)}):"
    )
    for r in rows:
        mark = "*" if r["installed"] else " "
        gated = " gated" if r["gated"] else ""
        print(
            f" {mark}{r['id']:<34} {_size(r['size_bytes']):>10}  {r['fit'] or '?':<13} {r['repo']}{gated}"
        )
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.library.discover import ScanLimits, discover

    found = discover(limits=ScanLimits(deadline_s=max(0.1, args.deadline)))
    if args.json:
        print_json(found.to_dict())
        return 0
    for place in found.places:
        state = "" if place["exists"] else "  (not there)"
        print(f"looked in {place['path']}{state}")
    if not found.models:
        print("no GGUF models found")
    for m in found.models:
        kind = "gpt-oss" if m.is_gpt_oss else (m.architecture or "?")
        use = "loadable" if m.loadable else f"not loadable: {m.problem}"
        print(f"\n{m.label}\n  {m.source_title}, {kind}, {_size(m.size_bytes)}, {use}\n  {m.path}")
    if found.truncated:
        print(f"\nscan {found.truncated}; some models may be missing", file=sys.stderr)
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.library import DownloadQueue, Hub, InstalledModels, TokenStore

    paths = _paths().ensure()
    library = InstalledModels(paths.models_dir)
    tokens = TokenStore()
    queue = DownloadQueue(Hub(), library, token=tokens.get)
    printer = _ProgressPrinter()
    queue.subscribe(printer)
    task = queue.add(args.repo, args.file, args.revision)
    try:
        snap = queue.wait(task.id)
    except KeyboardInterrupt:
        queue.shutdown()
        printer.end()
        print("paused; run the same command again to resume", file=sys.stderr)
        return 130
    printer.end()
    if snap.state == "done":
        model = library.get(snap.model_name)
        print(f"installed {model.name} ({_size(model.size_bytes)}, sha256 verified): {model.path}")
        return 0
    print(f"error: {snap.error}", file=sys.stderr)
    return 1


class _ProgressPrinter:
    """Progress on stderr: one updating line on a terminal, a line a second otherwise."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = 0.0
        self._open = False

    def __call__(self, s: TaskSnapshot) -> None:
        now = time.monotonic()
        if s.state == "queued":
            return
        if s.state == "running" and now - self._last < (0.25 if self._tty else 1.0) and not s.note:
            return
        self._last = now
        eta = f" ETA {int(s.eta_s) // 60}:{int(s.eta_s) % 60:02d}" if s.eta_s else ""
        speed = f" {s.speed_bps / 1024**2:.1f} MiB/s" if s.speed_bps else ""
        shard = f" [{s.file_index}/{s.file_count}]" if s.file_count > 1 else ""
        line = (
            f"{s.state}/{s.phase or '-'}{shard} {_size(s.done_bytes)} of {_size(s.total_bytes)} "
            f"({100 * s.fraction:.1f}%){speed}{eta}{'  ' + s.note if s.note else ''}"
        )
        if self._tty:
            sys.stderr.write("\r\x1b[K" + line)
            self._open = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end(self) -> None:
        if self._open:
            sys.stderr.write("\n")
            self._open = False


def cmd_verify(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.errors import LibraryError
    from gptoss_desktop.core.library.gguf_info import read_gguf_info
    from gptoss_desktop.core.library.installed import hash_file

    library = _library()
    try:
        library.get(args.target)
    except LibraryError:
        path = Path(args.target).expanduser()
        if not path.is_file():
            if path.exists():  # a FIFO, device or folder: say so rather than "not installed"
                from gptoss_desktop.core.errors import ModelFileError
                from gptoss_desktop.core.fileio import regular_file_problem

                problem = f"{regular_file_problem(path)}; choose a .gguf file"
                raise ModelFileError(path, problem) from None
            raise
        info = read_gguf_info(path)
        digest = hash_file(path)
        result = {
            "name": None,
            "path": str(path),
            "ok": True,
            "registered": False,
            "hash": digest,
            "architecture": info.architecture,
        }
        if args.json:
            print_json(result)
        else:
            print(
                f"{path}: GGUF header OK ({info.architecture}); not in the library, nothing to compare"
            )
            print(f"  {digest}")
        return 0
    report = library.verify(args.target)
    if args.json:
        print_json(
            {
                "name": report.name,
                "ok": report.ok,
                "problems": report.problems,
                "files_checked": report.files_checked,
                "bytes_checked": report.bytes_checked,
            }
        )
    elif report.ok:
        print(
            f"{report.name}: OK ({report.files_checked} file(s), {_size(report.bytes_checked)} checked)"
        )
    else:
        print(f"{report.name}: FAILED", file=sys.stderr)
        for p in report.problems:
            print(f"  {p}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_import(args: argparse.Namespace) -> int:
    _paths().ensure()
    models = _library().import_path(Path(args.path), link=args.link)
    for m in models:
        how = "linked" if m.linked else "copied"
        print(f"{how} {m.name} ({_size(m.size_bytes)}): {m.path}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    model = _library().remove(args.name)
    if model.linked:
        print(f"removed {model.name} from the library; its files were left in place")
    else:
        print(f"removed {model.name} and deleted its files")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.engine.probe import probe_backend
    from gptoss_desktop.core.errors import LibraryError
    from gptoss_desktop.core.library import ModelShape, detect_memory, estimate_fit, read_model_info
    from gptoss_desktop.core.library.fit import load_plan, plan_text

    target = Path(args.path).expanduser()
    files: list[Path] = [target]
    if not target.exists():
        with contextlib.suppress(LibraryError):  # else read_model_info reports the missing path
            files = [Path(f) for f in _library().get(args.path).files]
    info = read_model_info(files)
    backend = probe_backend()
    fit = estimate_fit(ModelShape.from_gguf(info), detect_memory(backend), args.ctx)
    plan = load_plan(fit, backend.backend)
    if args.json:
        print_json({**info.to_dict(), "fit": fit.to_dict(), "plan": plan})
        return 0
    params = f"{info.n_params / 1e9:.2f} B" if info.n_params >= 1e8 else f"{info.n_params:,}"
    rows = [
        ("file", info.path),
        ("size", _size(info.file_size)),
        ("architecture", info.architecture),
        ("name", info.name or "-"),
        ("parameters", params),
        ("quantization", info.quantization),
        ("context length", str(info.context_length or "?")),
        ("layers", str(info.n_layer or "?")),
        ("KV cache", f"{(info.kv_bytes_per_token or 0) / 1024:.0f} KiB per token"),
        ("chat template", "yes" if info.chat_template else "no"),
        ("Harmony tokens", "yes" if info.harmony_tokens else "no"),
        ("fit", fit.message),
        ("plan", f"{backend.backend}: {plan_text(plan)}"),
    ]
    for k, v in rows:
        print(f"{k:>15}: {v}")
    return 0


def cmd_add_repo(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.library import Catalog, Hub, TokenStore

    paths = _paths().ensure()
    entries = Hub().list_repo_models(args.repo, args.revision, token=TokenStore().get())
    added = Catalog.load(paths.config_dir).add(entries)
    for e in entries:
        print(f"{'added' if e in added else 'known'} {e.id} ({_size(e.size_bytes)})")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from gptoss_desktop.core.library import TokenStore

    store = TokenStore()
    if args.clear:
        store.clear()
        print("token forgotten")
        return 0
    if sys.stdin.isatty():
        import getpass

        token = getpass.getpass("Hugging Face token: ")
    else:
        token = sys.stdin.readline()
    where = store.set(token)
    if where == "keychain":
        print("token saved in the OS keychain")
    else:
        print(f"token kept for this command only: {store.keychain_problem}", file=sys.stderr)
    return 0
