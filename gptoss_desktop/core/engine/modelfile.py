"""Cheap checks of a model file before a worker is started for it.

These catch the common mistakes (wrong path, a folder, an HTML error page saved as .gguf,
an empty or cut-off file) in microseconds and with a clear message. Deeper damage is found
by the worker's loader, which runs in its own process.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from gptoss_desktop.core.errors import ModelFileError
from gptoss_desktop.core.fileio import NotRegularFile, open_regular

GGUF_MAGIC = b"GGUF"
_SUPPORTED_VERSIONS = (2, 3)
_MIN_SIZE = 24  # magic, version, tensor count, metadata count


def check_model_file(path: str | os.PathLike[str]) -> Path:
    """Return the resolved path, or raise :class:`ModelFileError` saying what is wrong."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelFileError(p, "file not found; check the path")
    if p.is_dir():
        raise ModelFileError(p, "is a folder, not a .gguf model file")
    try:
        with open_regular(p) as fh:  # never blocks on a FIFO named like a model
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(_MIN_SIZE)
    except NotRegularFile as exc:
        raise ModelFileError(p, f"{exc.strerror}; choose a .gguf model file") from None
    except OSError as exc:
        raise ModelFileError(p, f"cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise ModelFileError(p, "file is empty (0 bytes); download it again")
    if head[:4] != GGUF_MAGIC:
        raise ModelFileError(p, "not a GGUF model file (wrong magic bytes); choose a .gguf file")
    if len(head) < _MIN_SIZE:
        raise ModelFileError(p, f"file is truncated ({size} bytes); download it again")
    (version,) = struct.unpack("<I", head[4:8])
    if version not in _SUPPORTED_VERSIONS:
        raise ModelFileError(p, f"unsupported GGUF version {version} (expected 2 or 3)")
    n_tensors, n_kv = struct.unpack("<QQ", head[8:24])
    if n_tensors > 1_000_000 or n_kv > 1_000_000:
        raise ModelFileError(p, "GGUF header is corrupt (impossible tensor or key count)")
    return p.resolve()
