#!/usr/bin/env python3
"""Make the project's own tiny test models into tests/data/models/.

    python tests/data/make_models.py            build both models, verify, write README + SHA256SUMS
    python tests/data/make_models.py --check    check the committed files against SHA256SUMS
    python tests/data/make_models.py --verify   greedy exact-match report of tiny-harmony (llama.cpp)

Building needs numpy, gguf 0.19, llama-cpp-python 0.3.36 (its tokenizer) and torch (CPU) for
the training; --check needs only the standard library; --verify needs llama-cpp-python.
Everything is seeded and torch uses a fixed thread count (--threads, default 1), so a rebuild
on the same machine gives the same files (about 20 minutes on a busy 2-core machine).
See tests/data/models/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

OUT = HERE / "models"
RANDOM_MODEL = "tiny-gptoss-random.gguf"
HARMONY_MODEL = "tiny-harmony.gguf"
SUMS = "SHA256SUMS"
REPORT = "verify-report.json"
CHECKED_FILES = (RANDOM_MODEL, HARMONY_MODEL, REPORT)

TOKENIZER_SEED = 1
TOKENIZER_CONVERSATIONS = 3000
MAX_MERGES = 1500
RANDOM_WEIGHTS_SEED = 0
TRAIN_SEED = 2
TORCH_SEED = 3
PROBE_SEED = 1234
PROBES_PER_PATTERN = 40


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- --check -----------------------------------------------------------------------------


def check(out: Path = OUT) -> int:
    sums = out / SUMS
    if not sums.is_file():
        print(f"missing {sums}: run tests/data/make_models.py", file=sys.stderr)
        return 1
    bad = 0
    for line in sums.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        path = out / name.lstrip("*")
        if not path.is_file():
            print(f"MISSING {name}")
            bad += 1
        elif sha256(path) != digest:
            print(f"MISMATCH {name}")
            bad += 1
        else:
            print(f"OK {name}")
    return 1 if bad else 0


# ---- building ----------------------------------------------------------------------------


def build_vocab() -> Any:
    from modelgen.bpe import doubling_merges, learn_merges
    from modelgen.corpus import random_conversation
    from modelgen.vocab import LONG_TOKEN_CHAR, LONG_TOKEN_LENGTH, build_vocab

    rng = random.Random(TOKENIZER_SEED)
    texts = []
    for _ in range(TOKENIZER_CONVERSATIONS):
        texts += [p.text for p in random_conversation(rng).pieces if not p.special]
    merges = learn_merges(texts, MAX_MERGES)
    log(f"learned {len(merges)} merges")
    merges += doubling_merges(LONG_TOKEN_CHAR, LONG_TOKEN_LENGTH)
    return build_vocab(merges)


def build_dataset(
    tokenizer: Any, n: int, seed: int, entity_weight: float
) -> list[tuple[list[int], list[float]]]:
    """Tokenized training conversations. The trained tokens that carry a value the model must
    copy or recall (a country, capital, city, name, condition or number) weigh
    `entity_weight`: the templates are learned long before the copying."""
    from modelgen import corpus

    words = [
        *corpus.CAPITALS,
        *corpus.CAPITALS.values(),
        *corpus.CITIES,
        *corpus.NAMES,
        *corpus.CONDITIONS,
    ]
    entity = {i for w in words for form in (w, " " + w) for i in tokenizer.text(form)}
    entity |= {
        i
        for i, t in enumerate(tokenizer.vocab.tokens[: tokenizer.vocab.special_base])
        if t.isdigit()
    }
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ids, ws = tokenizer.conversation(corpus.random_conversation(rng))
        if entity_weight != 1.0:
            ws = [
                w * entity_weight if w > 0 and i in entity else w
                for i, w in zip(ids, ws, strict=True)
            ]
        out.append((ids, ws))
    return out


def train_harmony(
    tokenizer: Any,
    steps: int,
    n_train: int,
    lr: float,
    batch_tokens: int,
    eval_every: int,
    threads: int,
    shape: Any,
    entity_weight: float,
) -> tuple[Any, dict[str, float]]:
    import torch
    from modelgen.evaluate import run_probes, torch_complete
    from modelgen.probes import make_probes
    from modelgen.train import TinyLlama, make_batches, train

    torch.set_num_threads(threads)
    torch.manual_seed(TORCH_SEED)
    t0 = time.monotonic()
    data = build_dataset(tokenizer, n_train, TRAIN_SEED, entity_weight)
    n_tok = sum(len(d[0]) for d in data)
    log(f"dataset: {len(data)} conversations, {n_tok} tokens, {time.monotonic() - t0:.0f}s")
    model = TinyLlama(shape, len(tokenizer.vocab.tokens))
    monitor = make_probes(PROBE_SEED + 1, 3)

    def epoch(k: int) -> list[Any]:
        return make_batches(
            data, batch_tokens, tokenizer.vocab.pad, random.Random(TRAIN_SEED * 1000 + k)
        )

    def evaluate(step: int) -> None:
        res = run_probes(torch_complete(model), tokenizer, monitor)
        log(f"step {step} probes (torch): {res['total']} {res['exact_match']}")

    stats = train(model, epoch, steps, lr, log, evaluate=evaluate, eval_every=eval_every)
    model.eval()
    return model, stats


def build(args: argparse.Namespace) -> int:
    from modelgen.gguf_models import LlamaShape, write_gptoss_random, write_llama
    from modelgen.tokens import LlamaTokenizer

    OUT.mkdir(parents=True, exist_ok=True)
    shape = LlamaShape(n_embd=args.dim, n_head=args.heads, n_head_kv=args.heads, n_ff=args.ff)
    vocab = build_vocab()
    random_path = OUT / RANDOM_MODEL
    write_gptoss_random(random_path, vocab, RANDOM_WEIGHTS_SEED)
    log(f"wrote {random_path.name} ({random_path.stat().st_size} bytes)")
    tokenizer = LlamaTokenizer(random_path, vocab)
    model, stats = train_harmony(
        tokenizer,
        args.steps,
        args.n_train,
        args.lr,
        args.batch_tokens,
        args.eval_every,
        args.threads,
        shape,
        args.entity_weight,
    )
    harmony_path = OUT / HARMONY_MODEL
    write_llama(
        harmony_path,
        vocab,
        shape,
        model.gguf_tensors(),
        "Tiny llama-architecture model of gptoss-desktop trained on synthetic Harmony conversations "
        "(a closed world: capitals, greetings, dates, a get_weather tool). For tests only.",
    )
    log(f"wrote {harmony_path.name} ({harmony_path.stat().st_size} bytes)")
    report = verify(tokenizer)
    report["training"] = {
        **{k: round(v, 4) for k, v in stats.items()},
        "n_train_conversations": args.n_train,
        "lr": args.lr,
        "batch_tokens": args.batch_tokens,
        "torch_threads": args.threads,
        "entity_weight": args.entity_weight,
        "machine": f"{platform.machine()} {platform.python_version()}",
    }
    (OUT / REPORT).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    tokenizer.close()
    write_readme(report, vocab, shape)
    write_sums()
    return 0


def verify(tokenizer: Any | None = None) -> dict[str, Any]:
    import llama_cpp
    from modelgen.evaluate import llama_complete, run_probes
    from modelgen.probes import canonical_probes, make_probes

    own = tokenizer is None
    if tokenizer is None:
        from modelgen.tokens import LlamaTokenizer

        tokenizer = LlamaTokenizer(OUT / HARMONY_MODEL, build_vocab())
    llm = llama_cpp.Llama(
        str(OUT / HARMONY_MODEL), n_ctx=1024, n_threads=1, n_batch=512, seed=0, verbose=False
    )
    probes = canonical_probes() + make_probes(PROBE_SEED, PROBES_PER_PATTERN)
    t0 = time.monotonic()
    res = run_probes(llama_complete(llm), tokenizer, probes)
    res["seconds"] = round(time.monotonic() - t0, 1)
    log(f"llama.cpp greedy exact match: {res['total']} {json.dumps(res['exact_match'])}")
    for f in res["failures"][:5]:
        log(f"FAIL {f['pattern']}\n  expected {f['expected']!r}\n  got      {f['got']!r}")
    llm.close()
    if own:
        tokenizer.close()
    return res


def write_readme(report: dict[str, Any], vocab: Any, shape: Any) -> None:
    from modelgen.readme import render_readme

    files = [(n, (OUT / n).stat().st_size, sha256(OUT / n)) for n in (RANDOM_MODEL, HARMONY_MODEL)]
    (OUT / "README.md").write_text(render_readme(files, report, vocab, shape))
    log("wrote README.md")


def write_sums() -> None:
    lines = [f"{sha256(OUT / name)}  {name}" for name in CHECKED_FILES if (OUT / name).is_file()]
    (OUT / SUMS).write_text("\n".join(lines) + "\n")
    log(f"wrote {SUMS}")


def main(argv: list[str] | None = None) -> int:
    global OUT
    from modelgen.gguf_models import LlamaShape as LlamaShapeDefaults

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--check", action="store_true", help="check sha256 of the outputs (no torch)")
    ap.add_argument("--verify", action="store_true", help="greedy exact-match report via llama.cpp")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--n-train", type=int, default=12000)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--batch-tokens", type=int, default=2048)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--entity-weight", type=float, default=4.0)
    ap.add_argument("--dim", type=int, default=LlamaShapeDefaults.n_embd)
    ap.add_argument("--heads", type=int, default=LlamaShapeDefaults.n_head)
    ap.add_argument("--ff", type=int, default=LlamaShapeDefaults.n_ff)
    ap.add_argument(
        "--out", type=Path, default=OUT, help="output folder (default: tests/data/models)"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: on a busy 2-core machine 2 threads ran 5-10x slower)",
    )
    args = ap.parse_args(argv)
    OUT = args.out
    if args.check:
        return check()
    if args.verify:
        res = verify()
        print(json.dumps(res, indent=1, ensure_ascii=False))
        return 0 if res["total"].split("/")[0] == res["total"].split("/")[1] else 1
    return build(args)


if __name__ == "__main__":
    sys.exit(main())
