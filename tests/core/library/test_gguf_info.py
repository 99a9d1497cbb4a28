"""The bounded GGUF reader: right numbers on real files, one clear line on bad ones."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.errors import ModelFileError
from gptoss_desktop.core.library.gguf_info import Limits, read_gguf_info, read_model_info
from gptoss_desktop.core.library.gguf_types import FILE_TYPE_NAMES, TENSOR_TYPES
from tests.core.library import craft
from tests.core.library.ggufgen import gguf, gptoss_like_params, write_gptoss_like, write_llama_like
from tests.helpers import shared_model


def test_type_tables_match_the_gguf_package():
    for t in gguf.GGMLQuantizationType:
        assert TENSOR_TYPES[int(t)] == (t.name, *gguf.GGML_QUANT_SIZES[t])
    for ft in gguf.LlamaFileType:
        if ft.name != "GUESSED":
            assert FILE_TYPE_NAMES[int(ft)] == ft.name.removeprefix("MOSTLY_")


def test_gptoss_shape_gives_48_kib_of_kv_cache_per_token(tmp_path):
    info = read_gguf_info(write_gptoss_like(tmp_path / "m.gguf"))
    assert info.architecture == "gpt-oss"
    assert info.name == "tiny gpt-oss-like"
    assert info.n_params == gptoss_like_params()
    assert info.quantization == "MXFP4_MOE" and info.dominant_type == "F16"
    assert info.context_length == 131072 and info.n_layer == 24 and info.n_head_kv == 8
    assert info.kv_bytes_per_token == 48 * 1024  # FACTS.md: about 48 KiB per token with swa_full
    assert info.chat_template and info.harmony_tokens and info.missing_harmony_tokens == []
    assert info.n_vocab == 207 and info.split_count == 1
    assert info.layer_bytes == 24 * (64 * 4 + 64 * 64 * 2)


def test_missing_template_and_harmony_tokens_are_reported(tmp_path):
    path = write_gptoss_like(tmp_path / "m.gguf", vocab=["a", "b", "<|start|>"], chat_template=None)
    info = read_gguf_info(path)
    assert not info.chat_template and not info.harmony_tokens
    assert (
        "<|channel|>" in info.missing_harmony_tokens
        and "<|start|>" not in info.missing_harmony_tokens
    )


def test_shared_tiny_models():
    info = read_gguf_info(shared_model("stories260K.gguf"))
    assert (info.architecture, info.n_layer, info.context_length, info.n_vocab) == (
        "llama",
        5,
        2048,
        512,
    )
    assert info.quantization == "F32"
    q8 = read_gguf_info(shared_model("TinyStories-656K-Q8_0.gguf"))
    f16 = read_gguf_info(shared_model("TinyStories-656K-F16.gguf"))
    assert q8.quantization == "Q8_0" and f16.quantization == "F16"
    assert q8.n_params == f16.n_params == 656_000  # the model card's "656K"


def test_sharded_model_sums_its_shards(tmp_path):
    a = write_gptoss_like(tmp_path / "m-00001-of-00002.gguf", n_layer=2, split=(0, 2))
    b = write_llama_like(tmp_path / "m-00002-of-00002.gguf")
    info = read_model_info([a, b])
    assert info.split_count == 2
    assert info.n_params == read_gguf_info(a).n_params + read_gguf_info(b).n_params
    assert info.file_size == a.stat().st_size + b.stat().st_size


def test_full_size_vocabulary_reads_quickly(tmp_path):
    tokens = [f"tok{i}" for i in range(201_088)] + [
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|channel|>",
        "<|return|>",
        "<|call|>",
    ]
    merges = [f"t{i} u{i}" for i in range(446_000)]
    path = tmp_path / "vocab.gguf"
    path.write_bytes(
        craft.gguf(
            [
                craft.kv("general.architecture", craft.STRING, "gpt-oss"),
                craft.kv("tokenizer.ggml.tokens", craft.ARRAY, (craft.STRING, tokens)),
                craft.kv("tokenizer.ggml.merges", craft.ARRAY, (craft.STRING, merges)),
                craft.kv("tokenizer.ggml.token_type", craft.ARRAY, (craft.I32, [1] * len(tokens))),
            ]
        )
    )
    t0 = time.perf_counter()
    info = read_gguf_info(path)
    assert time.perf_counter() - t0 < 2.0
    assert info.n_vocab == len(tokens) and info.harmony_tokens


def _write(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / "bad.gguf"
    p.write_bytes(data)
    return p


ARCH = craft.kv("general.architecture", craft.STRING, "llama")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<!DOCTYPE html><html>" + b" " * 40, "not a GGUF file"),
        (b"GGUF", "too small"),
        (craft.gguf([ARCH], version=1), "unsupported GGUF version 1"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + ARCH[:-3], "truncated inside its header"),
        (craft.gguf([ARCH], n_kv=1 << 40), "metadata keys, over the 65536 limit"),
        (craft.gguf([ARCH], n_tensors=1 << 40), "tensors, over the 200000 limit"),
        (craft.gguf([struct.pack("<Q", 1 << 62) + b"k"]), "exceeds the 16777216 limit"),
        (craft.gguf([craft.s("k") + struct.pack("<I", 77) + b"\0" * 8]), "unknown value type 77"),
        (
            craft.gguf([craft.s("k") + struct.pack("<IIQ", craft.ARRAY, craft.U8, 1 << 40)]),
            "over the",
        ),
        (
            craft.gguf([craft.s("k") + struct.pack("<IIQ", craft.ARRAY, craft.STRING, 1 << 20)]),
            "truncated",
        ),
        (
            craft.gguf([craft.s("k") + struct.pack("<IIQ", craft.ARRAY, craft.ARRAY, 1)]),
            "nested arrays",
        ),
        (craft.gguf([ARCH], [craft.tensor("t", [4] * 9, 0, 0)]), "has 9 dimensions"),
        (craft.gguf([ARCH], [craft.tensor("t", [4], 200, 0)]), "unknown type 200"),
        (craft.gguf([ARCH], [craft.tensor("t", [0], 0, 0)]), "impossible dimension 0"),
        (craft.gguf([ARCH], [craft.tensor("t", [7], 8, 0)]), "not a multiple of its block size"),
        (
            craft.gguf([ARCH], [craft.tensor("t", [1024], 0, 0)], b"\0" * 100),
            "file is truncated: tensor data",
        ),
        (
            craft.gguf([ARCH, craft.kv("general.alignment", craft.U32, 3)]),
            "invalid general.alignment 3",
        ),
    ],
)
def test_malformed_files_give_one_clear_line(tmp_path, data, problem):
    path = _write(tmp_path, data)
    with pytest.raises(ModelFileError, match=problem) as err:
        read_gguf_info(path)
    assert err.value.path == str(path) and "\n" not in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ModelFileError, match="file not found"):
        read_gguf_info(tmp_path / "nope.gguf")
    with pytest.raises(ModelFileError, match="is a folder"):
        read_gguf_info(tmp_path)


def test_limits_are_enforced(tmp_path):
    path = write_gptoss_like(tmp_path / "m.gguf")
    with pytest.raises(ModelFileError, match="header is larger than the 0 MiB limit"):
        read_gguf_info(path, Limits(max_header_bytes=2000))
    with pytest.raises(ModelFileError, match="took too long"):
        read_gguf_info(path, Limits(time_budget_s=-1))
    with pytest.raises(ModelFileError, match="207 items, over the 100 limit"):
        read_gguf_info(path, Limits(max_array_len=100))
    long_template = write_gptoss_like(tmp_path / "t.gguf", chat_template="x" * 5000)
    info = read_gguf_info(long_template, Limits(keep_string_bytes=100))
    assert (
        info.chat_template and info.metadata["tokenizer.chat_template"] == "<string of 5000 bytes>"
    )


def test_the_projects_own_gptoss_test_model():
    from tests.helpers import project_model

    info = read_gguf_info(project_model("tiny-gptoss-random.gguf"))
    assert (info.architecture, info.quantization) == ("gpt-oss", "MXFP4_MOE")
    assert info.harmony_tokens and info.n_params > 0 and info.kv_bytes_per_token
