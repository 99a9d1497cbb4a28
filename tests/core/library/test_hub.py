"""Hub look-ups through huggingface_hub against the loopback hub."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.errors import AuthRequired, DownloadError, NotFoundOnHub
from gptoss_desktop.core.library import Hub
from tests.core.library.conftest import FILE, REPO


def test_resolve_pins_the_commit_and_reads_size_and_sha256(hub, hub_server, model_bytes):
    import hashlib

    model = hub.resolve(REPO, FILE)
    (f,) = model.files
    commit = hub_server.repos[REPO].commit
    assert (model.revision, f.revision, f.size) == (commit, commit, len(model_bytes))
    assert f.sha256 == hashlib.sha256(model_bytes).hexdigest()
    assert f.url == f"{hub_server.endpoint}/{REPO}/resolve/{commit}/{FILE}"
    assert not model.gated and model.name == "tiny-gptoss"
    assert hub.resolve("test-org/gated-GGUF", FILE).gated


def test_any_shard_resolves_to_the_whole_set(hub):
    model = hub.resolve("test-org/sharded-GGUF", "big-00003-of-00003.gguf")
    assert [f.filename for f in model.files] == [f"big-0000{i}-of-00003.gguf" for i in (1, 2, 3)]


def test_missing_things_say_what_is_missing(hub):
    with pytest.raises(NotFoundOnHub, match="repository test-org/nothing was not found on http"):
        hub.resolve("test-org/nothing", FILE)
    with pytest.raises(
        NotFoundOnHub, match=r"nope\.gguf is not in test-org/tiny-GGUF at revision main"
    ):
        hub.resolve(REPO, "nope.gguf")
    with pytest.raises(NotFoundOnHub, match="revision 'v9' does not exist in test-org/tiny-GGUF"):
        hub.resolve(REPO, FILE, revision="v9")
    with pytest.raises(NotFoundOnHub, match="is not a Hugging Face repo id"):
        hub.resolve("no-slash", FILE)
    with pytest.raises(
        NotFoundOnHub, match=r"big-00001-of-00003\.gguf is not in test-org/tiny-GGUF"
    ):
        hub.resolve(REPO, "big-00001-of-00003.gguf")


def test_a_missing_shard_is_named(hub, hub_server):
    del hub_server.repos["test-org/sharded-GGUF"].files["big-00002-of-00003.gguf"]
    with pytest.raises(
        NotFoundOnHub, match=r"big-00002-of-00003\.gguf is not in test-org/sharded-GGUF"
    ):
        hub.resolve("test-org/sharded-GGUF", "big-00001-of-00003.gguf")


def test_api_errors_retry_then_fail_clearly(hub, hub_server):
    hub_server.faults.api_status = 502
    with pytest.raises(
        DownloadError, match="the hub answered 502 for test-org/tiny-GGUF; try again later"
    ):
        hub.resolve(REPO, FILE)
    calls = [p for _, p, _ in hub_server.stats.requests if p.startswith("/api/")]
    assert len(calls) == 3  # one try and two retries
    hub_server.faults.api_status = 401
    with pytest.raises(AuthRequired, match=r"test-org/tiny-GGUF.*token"):
        hub.resolve(REPO, FILE)


def test_token_is_sent_only_when_given(hub, hub_server, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", "hf_from_env_must_not_leak")
    hub.resolve(REPO, FILE)
    hub.resolve(REPO, FILE, token="hf_given")
    assert hub_server.stats.auth_headers == ["", "", "Bearer hf_given", "Bearer hf_given"]


def test_offline_mode_is_respected(hub, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE is set, so downloads are off"):
        hub.resolve(REPO, FILE)


def test_unreachable_hub_is_a_network_error(hub_online):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(
        DownloadError, match=r"cannot reach http://127\.0\.0\.1:.*check the network"
    ):
        Hub(f"http://127.0.0.1:{port}", retries=0).resolve(REPO, FILE)


def test_hf_endpoint_is_read_at_call_time(hub_server, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint + "/")
    assert Hub().endpoint == hub_server.endpoint
    assert Hub().resolve(REPO, FILE).files[0].url.startswith(hub_server.endpoint)


def test_list_repo_models_for_adding_a_repo_by_id(hub, model_bytes):
    (entry,) = hub.list_repo_models(REPO)
    assert (entry.repo, entry.files, entry.size_bytes, entry.licence) == (
        REPO,
        [FILE],
        len(model_bytes),
        "apache-2.0",
    )
    assert entry.user_added
    (sharded,) = hub.list_repo_models("test-org/sharded-GGUF")
    assert len(sharded.files) == 3 and sharded.size_bytes == len(model_bytes)
