"""Byte-level BPE (GPT-2 style) merge learning for the shared tiny tokenizer.

llama.cpp does the real tokenizing (tokenizer model `gpt2`, pre-tokenizer `gpt-4o`). This module
only learns the merges: it splits text with an ASCII rendition of the gpt-4o pre-tokenizer regex
(the corpus is ASCII apart from the degree sign, which is not a letter or digit) and merges the
most frequent pair, ties broken by the pair's text so the result is deterministic.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character mapping."""
    bs = list(range(ord("!"), ord("~") + 1))
    bs += list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


BYTE_TO_CHAR = bytes_to_unicode()

_CONTRACTION = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
# gpt-4o pre-tokenizer with \p{L} = [A-Za-z] and \p{N} = [0-9] (valid for an ASCII corpus).
PRETOKENIZE = re.compile(
    r"[^\r\nA-Za-z0-9]?[A-Z]*[a-z]+" + _CONTRACTION + "|"
    r"[^\r\nA-Za-z0-9]?[A-Z]+[a-z]*" + _CONTRACTION + "|"
    r"[0-9]{1,3}|"
    r" ?[^\sA-Za-z0-9]+[\r\n/]*|"
    r"\s*[\r\n]+|"
    r"\s+(?!\S)|"
    r"\s+"
)


def pretokenize(text: str) -> list[str]:
    """Split text into chunks; BPE merges never cross a chunk boundary."""
    for ch in text:
        if ord(ch) > 127 and ch.isalnum():
            raise ValueError(
                f"non-ASCII letter or digit {ch!r}: the ASCII pre-tokenizer cannot split it"
            )
    return PRETOKENIZE.findall(text)


def encode_chunk(chunk: str) -> tuple[str, ...]:
    """A chunk as its sequence of byte characters."""
    return tuple(BYTE_TO_CHAR[b] for b in chunk.encode("utf-8"))


_ASCII_CHARS = frozenset(BYTE_TO_CHAR[b] for b in range(128))


def learn_merges(
    texts: Iterable[str], max_merges: int, min_count: int = 2
) -> list[tuple[str, str]]:
    """Learn up to `max_merges` merges over the chunks of `texts`.

    Merges touching a non-ASCII byte are never made, so a multi-byte character such as the
    degree sign always stays split into its byte tokens.
    """
    chunk_counts: Counter[str] = Counter()
    for text in texts:
        chunk_counts.update(pretokenize(text))
    words: list[list[str]] = []
    counts: list[int] = []
    for chunk, count in sorted(chunk_counts.items()):
        words.append(list(encode_chunk(chunk)))
        counts.append(count)

    merges: list[tuple[str, str]] = []
    while len(merges) < max_merges:
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in zip(words, counts, strict=True):
            for a, b in itertools.pairwise(word):
                if (
                    a[-1] in _ASCII_CHARS
                    and b[0] in _ASCII_CHARS
                    and _all_ascii(a)
                    and _all_ascii(b)
                ):
                    pairs[(a, b)] += count
        if not pairs:
            break
        best_count = max(pairs.values())
        if best_count < min_count:
            break
        best = min(p for p, c in pairs.items() if c == best_count)
        merges.append(best)
        merged = best[0] + best[1]
        for i, word in enumerate(words):
            if len(word) < 2:
                continue
            out: list[str] = []
            j = 0
            while j < len(word):
                if j + 1 < len(word) and word[j] == best[0] and word[j + 1] == best[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(word[j])
                    j += 1
            words[i] = out
    return merges


def _all_ascii(sym: str) -> bool:
    return all(ch in _ASCII_CHARS for ch in sym)


def doubling_merges(char: str, total: int) -> list[tuple[str, str]]:
    """Merges that build a run of `total` copies of an ASCII `char` as one token.

    Runs double (1+1, 2+2, 4+4, ...) and the remainder is joined largest first, so BPE, which
    applies merges by rank from the left, turns exactly `total` copies into a single token.
    """
    sym = BYTE_TO_CHAR[ord(char)]
    merges: list[tuple[str, str]] = []
    size = 1
    while size * 2 <= total:
        merges.append((sym * size, sym * size))
        size *= 2
    built = size
    rest = total - size
    part = size // 2
    while rest > 0:
        if part <= rest:
            merges.append((sym * built, sym * part))
            built += part
            rest -= part
        part //= 2
    return merges
