"""Post-processing and checks of a frozen one-folder bundle (Linux and macOS build scripts).

    python bundle_tool.py dedupe DIR           identical shared-library copies -> relative symlinks
    python bundle_tool.py strip-debug DIR      drop debug sections (never numpy's OpenBLAS)
    python bundle_tool.py size PATH --max-mib N
    python bundle_tool.py glibc DIR --max 2.35 [--max-glibcxx 3.4.30]
                                               highest GLIBC_x.y (GLIBCXX_x.y.z) any ELF needs
    python bundle_tool.py deb-depends DIR      Debian packages of the system libraries it needs

Each command prints one line saying what it found or did; a failed check exits 1 with the
reason. ELF inspection uses binutils (objdump, strip); Debian package lookup uses dpkg.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

MIB = 1024 * 1024
# Never rewrite these: strip corrupts numpy's bundled OpenBLAS (and its siblings).
NO_STRIP = ("numpy.libs/", "scipy.libs/", "openblas")
# Loaded from the system on purpose; glibc's own libraries are versioned through libc6.
GLIBC_LIBS = {
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libresolv.so.2",
    "libutil.so.1",
}


class CheckFailed(Exception):
    pass


def elf_files(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with open(path, "rb") as f:
            if f.read(4) == b"\x7fELF":
                out.append(path)
    return out


def objdump(*args: str) -> str:
    if shutil.which("objdump") is None:
        raise CheckFailed("objdump not found: install binutils")
    return subprocess.run(
        ["objdump", *args], capture_output=True, text=True, errors="replace", check=False
    ).stdout


def needed(path: Path) -> list[str]:
    return re.findall(r"^\s+NEEDED\s+(\S+)", objdump("-p", str(path)), re.M)


def bundle_size(path: Path) -> int:
    """Bytes on disk as installed: regular files by size, symlinks by their own length."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


# --- commands ---------------------------------------------------------------------------------
# ELF, and Mach-O (64-bit, either byte order, and universal) for macOS bundles.
_LIBRARY_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe")
_LIBRARY_NAME = re.compile(r"\.so(\.\d+)*$|\.dylib$")


def shared_libraries(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or not _LIBRARY_NAME.search(path.name):
            continue
        with open(path, "rb") as f:
            if f.read(4) in _LIBRARY_MAGIC:
                out.append(path)
    return out


def dedupe(root: Path) -> str:
    """Within each folder, identical shared libraries become symlinks to the longest name."""
    groups: dict[tuple[Path, str], list[Path]] = defaultdict(list)
    for path in shared_libraries(root):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        groups[(path.parent, digest)].append(path)
    saved, linked = 0, 0
    for paths in groups.values():
        if len(paths) < 2:
            continue
        keep = max(paths, key=lambda p: (len(p.name), p.name))  # libx.so.0.25.3
        for dup in paths:
            if dup == keep:
                continue
            saved += dup.stat().st_size
            dup.unlink()
            dup.symlink_to(keep.name)
            linked += 1
    return f"dedupe: {linked} copies replaced by symlinks, {saved / MIB:.1f} MiB saved"


def strip_debug(root: Path) -> str:
    if shutil.which("strip") is None:
        raise CheckFailed("strip not found: install binutils")
    stripped, before, after = [], 0, 0
    for path in elf_files(root):
        rel = path.relative_to(root).as_posix()
        if any(marker in rel for marker in NO_STRIP):
            continue
        if ".debug_info" not in objdump("-h", str(path)):
            continue
        size = path.stat().st_size
        subprocess.run(["strip", "--strip-debug", str(path)], check=True)
        stripped.append(rel)
        before += size
        after += path.stat().st_size
    names = ", ".join(Path(r).name for r in stripped) or "none"
    return f"strip-debug: {len(stripped)} files ({names}), {(before - after) / MIB:.1f} MiB saved"


def size_check(path: Path, max_mib: float) -> str:
    size = bundle_size(path) / MIB
    line = f"size: {path.name} {size:.1f} MiB (budget {max_mib:g} MiB)"
    if size > max_mib:
        raise CheckFailed(line + " OVER BUDGET")
    return line


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def symbol_version_requirements(root: Path, family: str) -> dict[Path, tuple[int, ...]]:
    """Highest ``FAMILY_x.y`` symbol version (GLIBC, GLIBCXX) each ELF file under root needs."""
    pattern = re.compile(rf"\b{family}_(\d+\.\d+(?:\.\d+)?)\b")
    out = {}
    for path in elf_files(root):
        versions = pattern.findall(objdump("-p", str(path)))
        if versions:
            out[path] = max(_version(v) for v in versions)
    return out


def glibc_requirements(root: Path) -> dict[Path, tuple[int, ...]]:
    return symbol_version_requirements(root, "GLIBC")


def _requirement_line(root: Path, family: str, limit: str, required: bool) -> str:
    reqs = symbol_version_requirements(root, family)
    if not reqs:
        if required:
            raise CheckFailed(
                f"{family}: no ELF file with {family} version references under {root}"
            )
        return f"{family}: nothing needs it"
    worst = max(reqs.values())
    culprits = sorted(p.relative_to(root).as_posix() for p, v in reqs.items() if v == worst)
    shown = ", ".join(culprits[:3]) + (
        f" and {len(culprits) - 3} more" if len(culprits) > 3 else ""
    )
    found = ".".join(map(str, worst))
    line = f"{family}: bundle needs {family}_{found} (limit {limit}; highest in {shown})"
    if worst > _version(limit):
        raise CheckFailed(line + " TOO NEW for the oldest supported distribution")
    return line


def glibc_check(root: Path, max_version: str, max_glibcxx: str | None = None) -> str:
    """glibc (and, with ``max_glibcxx``, the system C++ runtime) the bundle needs."""
    line = _requirement_line(root, "GLIBC", max_version, required=True).replace(
        "GLIBC:", "glibc:", 1
    )
    if max_glibcxx:
        line += "\n" + _requirement_line(root, "GLIBCXX", max_glibcxx, required=False).replace(
            "GLIBCXX:", "libstdc++:", 1
        )
    return line


def _library_path(soname: str) -> Path | None:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split(" ")[0] == soname and "x86-64" in parts[0]:
            return Path(parts[1])
    for line in out.splitlines():
        parts = line.strip().split(" => ")
        if len(parts) == 2 and parts[0].split(" ")[0] == soname:
            return Path(parts[1])
    return None


def _owning_package(path: Path) -> str | None:
    candidates = {str(path), str(path.resolve())}
    for c in list(candidates):
        if c.startswith("/lib"):
            candidates.add("/usr" + c)
        if c.startswith("/usr/lib"):
            candidates.add(c[len("/usr") :])
    for c in sorted(candidates):
        proc = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True, check=False)
        if proc.returncode == 0 and ":" in proc.stdout:
            return proc.stdout.split(":", 1)[0].strip()
    return None


def system_libraries(root: Path) -> list[str]:
    """Sonames some bundled ELF file needs that the bundle itself does not carry."""
    inside = {p.name for p in root.rglob("*")}
    wanted: set[str] = set()
    for path in elf_files(root):
        wanted.update(n for n in needed(path) if n not in inside)
    return sorted(wanted)


def deb_depends(root: Path, ignore: list[str]) -> str:
    packages: set[str] = set()
    missing: list[str] = []
    for soname in system_libraries(root):
        if soname in GLIBC_LIBS or soname in ignore:
            continue
        path = _library_path(soname)
        package = _owning_package(path) if path else None
        if package is None:
            missing.append(soname)
        else:
            packages.add(package.split(":")[0])
    if missing:
        raise CheckFailed(
            "deb-depends: no installed package provides "
            + ", ".join(missing)
            + "; install them on the build host"
        )
    return ", ".join(sorted(packages))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="post-process and check a frozen bundle")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("dedupe", "strip-debug"):
        sub.add_parser(name).add_argument("root", type=Path)
    p = sub.add_parser("size")
    p.add_argument("path", type=Path)
    p.add_argument("--max-mib", type=float, required=True)
    p = sub.add_parser("glibc")
    p.add_argument("root", type=Path)
    p.add_argument("--max", required=True, help="highest GLIBC version allowed, e.g. 2.35")
    p.add_argument("--max-glibcxx", help="highest GLIBCXX version allowed, e.g. 3.4.30")
    p = sub.add_parser("deb-depends")
    p.add_argument("root", type=Path)
    p.add_argument("--ignore", action="append", default=[], help="soname loaded only if present")
    args = parser.parse_args(argv)
    try:
        if args.command == "dedupe":
            print(dedupe(args.root))
        elif args.command == "strip-debug":
            print(strip_debug(args.root))
        elif args.command == "size":
            print(size_check(args.path, args.max_mib))
        elif args.command == "glibc":
            print(glibc_check(args.root, args.max, args.max_glibcxx))
        elif args.command == "deb-depends":
            print(deb_depends(args.root, args.ignore))
    except CheckFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
