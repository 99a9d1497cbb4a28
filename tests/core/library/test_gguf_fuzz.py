"""1,000 fuzzed GGUF headers: each answers (info or ModelFileError) within 2 s and bounded memory.

The seeds are a small valid gpt-oss-like file and a llama-like one written with the ``gguf``
package; the mutations are truncations, flipped bytes, huge lengths and counts written over
length fields, bad value and tensor types, and spliced garbage, all in the header region.
"""

from __future__ import annotations

import random
import struct
import time
import tracemalloc
from pathlib import Path

from gptoss_desktop.core.errors import ModelFileError
from gptoss_desktop.core.library.gguf_info import GgufInfo, read_gguf_info
from tests.core.library.ggufgen import write_gptoss_like, write_llama_like

CASES = 1000
TIME_LIMIT_S = 2.0
MEMORY_LIMIT = 32 * 1024 * 1024
HUGE = [1 << 63, (1 << 64) - 1, 1 << 40, 1 << 32, 0xFFFFFFFF, 1 << 24, 65537]


def _mutate(seed: bytes, rng: random.Random) -> bytes:
    header_end = min(len(seed), 4096)
    data = bytearray(seed)
    kind = rng.randrange(6)
    if kind == 0:  # truncate anywhere in the header, or just past it
        return bytes(data[: rng.randrange(0, header_end + 64)])
    if kind == 1:  # flip a few bytes
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(4, header_end)] ^= rng.randrange(1, 256)
    elif kind == 2:  # a huge u64 where a length or count may be
        at = rng.randrange(8, header_end - 8)
        data[at : at + 8] = struct.pack("<Q", rng.choice(HUGE))
    elif kind == 3:  # a bad type id where a u32 may be
        at = rng.randrange(8, header_end - 4)
        data[at : at + 4] = struct.pack(
            "<I", rng.choice([9, 13, 77, 0xFFFFFFFF, rng.randrange(1 << 32)])
        )
    elif kind == 4:  # splice random garbage into the header
        at = rng.randrange(4, header_end)
        data[at:at] = rng.randbytes(rng.randint(1, 64))
    else:  # the counts in the fixed header
        field = rng.choice([4, 8, 16])
        width = 4 if field == 4 else 8
        data[field : field + width] = rng.randbytes(width)
    return bytes(data)


def test_fuzzed_headers_answer_quickly_with_bounded_memory(tmp_path: Path) -> None:
    seeds = [
        write_gptoss_like(
            tmp_path / "a.gguf", n_layer=3, vocab=[f"t{i}" for i in range(40)]
        ).read_bytes(),
        write_llama_like(tmp_path / "b.gguf").read_bytes(),
    ]
    rng = random.Random(20240805)
    target = tmp_path / "fuzz.gguf"
    outcomes = {"info": 0, "error": 0}
    slowest = 0.0
    tracemalloc.start()
    try:
        for i in range(CASES):
            target.write_bytes(_mutate(seeds[i % 2], rng))
            tracemalloc.reset_peak()
            t0 = time.perf_counter()
            try:
                result = read_gguf_info(target)
                assert isinstance(result, GgufInfo)
                outcomes["info"] += 1
            except ModelFileError as exc:
                assert exc.problem and "\n" not in exc.problem
                outcomes["error"] += 1
            elapsed = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            slowest = max(slowest, elapsed)
            assert elapsed < TIME_LIMIT_S, f"case {i} took {elapsed:.2f} s"
            assert peak < MEMORY_LIMIT, f"case {i} peaked at {peak} bytes"
    finally:
        tracemalloc.stop()
    assert outcomes["info"] + outcomes["error"] == CASES
    assert outcomes["error"] > CASES // 2  # most mutations break the file...
    assert outcomes["info"] > 0  # ...and some (e.g. flipped bytes inside a string) do not
