"""DownloadJob against the loopback hub: resume, verification and every fault the issue names."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.errors import (
    AuthRequired,
    ChecksumMismatch,
    DiskFull,
    DownloadError,
    NotFoundOnHub,
)
from gptoss_desktop.core.library import (
    DownloadJob,
    DownloadQueue,
    DownloadSettings,
    Hub,
    InstalledModels,
    Progress,
    StopToken,
)
from gptoss_desktop.core.library.download import partial_paths
from gptoss_desktop.core.library.hub import RemoteFile
from tests.core.library.conftest import FILE, REPO
from tests.core.library.hubserver import HubServer, Repo


def _job(
    hub: Hub,
    library: InstalledModels,
    settings: DownloadSettings,
    *,
    repo: str = REPO,
    file: str = FILE,
    token: str | None = None,
    **kw: object,
) -> DownloadJob:
    remote = hub.resolve(repo, file, token=token).files[0]
    return DownloadJob(
        remote,
        library.download_dir(repo) / file,
        partial_dir=library.partial_dir,
        quarantine_dir=library.quarantine_dir,
        token=token,
        settings=settings,
        **kw,
    )  # type: ignore[arg-type]


def _no_temp_files(library: InstalledModels) -> bool:
    return not any(library.partial_dir.iterdir()) if library.partial_dir.exists() else True


def test_download_verifies_and_moves_into_place(hub, library, quick, hub_server, model_bytes):
    job = _job(hub, library, quick)
    dest = job.run()
    assert dest == library.download_dir(REPO) / FILE
    assert dest.read_bytes() == model_bytes
    assert hub_server.stats.body_bytes == len(model_bytes)
    assert _no_temp_files(library)
    # Asked the hub for the commit and the file's metadata, then streamed from the pinned commit.
    paths = [p for _, p, _ in hub_server.stats.requests]
    assert paths[0] == f"/api/models/{REPO}/revision/main"
    assert paths[1].startswith(f"/api/models/{REPO}/paths-info/")
    assert paths[2] == f"/{REPO}/resolve/{hub_server.repos[REPO].commit}/{FILE}"


def test_follows_the_hubs_redirect_to_its_cdn(model_bytes, hub_online, library, quick):
    with HubServer({REPO: Repo({FILE: model_bytes})}, redirect=True) as server:
        dest = _job(Hub(server.endpoint), library, quick).run()
        assert dest is not None and dest.read_bytes() == model_bytes
        assert any(p.startswith("/_cdn/") for _, p, _ in server.stats.requests)


def test_resumes_from_the_partial_file_of_an_earlier_run(
    hub, library, quick, hub_server, model_bytes
):
    hub_server.faults.pause_at = 1_500_000
    stop = StopToken()
    job = _job(hub, library, quick, stop=stop)
    worker = threading.Thread(target=job.run)
    worker.start()
    assert hub_server.paused.wait(10)
    _wait_for_size(job.partial, 1_500_000)
    stop.stop()
    hub_server.faults.pause_at = None
    hub_server.release.set()
    worker.join(10)
    kept = job.partial.stat().st_size
    assert kept >= 1_500_000 and job.state_file.exists()

    sent_before = hub_server.stats.body_bytes
    again = _job(hub, library, quick)
    assert again.run() is not None
    assert (library.download_dir(REPO) / FILE).read_bytes() == model_bytes
    assert hub_server.stats.body_bytes - sent_before == len(model_bytes) - kept
    assert hub_server.stats.requests[-1][2] == f"bytes={kept}-"
    assert _no_temp_files(library)


def _wait_for_size(path: Path, size: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size >= size:
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} never reached {size} bytes")


def test_server_ignoring_range_restarts_from_zero_and_still_verifies(
    hub, library, quick, hub_server, model_bytes
):
    job = _job(hub, library, quick)
    job.partial.parent.mkdir(parents=True)
    job.partial.write_bytes(model_bytes[:700_000])
    job._write_state()
    hub_server.faults.ignore_range = True
    notes: list[str] = []
    job._progress_cb = lambda p: notes.append(p.note)
    assert job.run() is not None
    assert (library.download_dir(REPO) / FILE).read_bytes() == model_bytes
    assert any("cannot resume" in n for n in notes)
    assert hub_server.stats.body_bytes == len(model_bytes)


def test_dropped_connections_resume_where_they_stopped(
    hub, library, quick, hub_server, model_bytes
):
    hub_server.faults.drop_after = 400_000
    hub_server.faults.drop_times = 3
    job = _job(hub, library, quick)
    assert job.run() is not None
    assert (library.download_dir(REPO) / FILE).read_bytes() == model_bytes
    ranges = [r for _, p, r in hub_server.stats.requests if "/resolve/" in p]
    assert len(ranges) == 4 and ranges[0] == "" and all(r.startswith("bytes=") for r in ranges[1:])
    assert hub_server.stats.body_bytes <= len(model_bytes) * 1.01


def test_a_server_that_caps_each_range_is_asked_for_the_rest(
    hub, library, quick, hub_server, model_bytes
):
    hub_server.faults.drop_after = 300_000  # the first answer breaks off, then each Range
    hub_server.faults.drop_times = 1  # answer carries at most 500 kB, like some CDNs
    hub_server.faults.max_range_bytes = 500_000
    job = _job(hub, library, quick)
    assert job.run() is not None
    assert (library.download_dir(REPO) / FILE).read_bytes() == model_bytes
    ranges = [r for _, p, r in hub_server.stats.requests if "/resolve/" in p]
    starts = [int(r.removeprefix("bytes=").rstrip("-")) for r in ranges[1:]]
    assert ranges[0] == "" and starts[0] == 300_000
    assert starts == list(range(300_000, len(model_bytes), 500_000))
    assert hub_server.stats.body_bytes <= len(model_bytes) * 1.01


def test_a_stalled_connection_times_out_and_is_retried(
    hub, library, quick, hub_server, model_bytes
):
    hub_server.faults.stall_after = 300_000
    hub_server.faults.stall_s = 3.0
    hub_server.faults.stall_times = 1
    notes: list[str] = []
    t0 = time.monotonic()
    job = _job(hub, library, quick, progress=lambda p: notes.append(p.note))
    assert job.run() is not None
    assert time.monotonic() - t0 < 2.5  # the 0.5 s stall timeout fired, not the server's 3 s
    assert (library.download_dir(REPO) / FILE).read_bytes() == model_bytes
    assert any("stalled" in n for n in notes)


def test_a_connection_that_always_stalls_gives_up_with_a_clear_message(
    hub, library, quick, hub_server
):
    hub_server.faults.stall_after = 0
    hub_server.faults.stall_s = 2.0
    hub_server.faults.stall_times = -1
    with pytest.raises(
        DownloadError, match=r"stalled .*gave up after 4 tries.*resume later"
    ) as err:
        _job(hub, library, quick).run()
    assert type(err.value) is DownloadError
    partial, state = partial_paths(library.partial_dir, hub.resolve(REPO, FILE).files[0].key)
    assert partial.exists() and state.exists()  # kept for later


def test_server_errors_are_retried_with_backoff(hub, library, quick, hub_server, model_bytes):
    hub_server.faults.status = 500
    hub_server.faults.status_times = 2
    assert _job(hub, library, quick).run() is not None
    assert (library.download_dir(REPO) / FILE).read_bytes() == model_bytes
    assert len([p for _, p, _ in hub_server.stats.requests if "/resolve/" in p]) == 3


def test_persistent_server_errors_fail_with_the_status(hub, library, quick, hub_server):
    hub_server.faults.status = 503
    hub_server.faults.status_times = -1
    with pytest.raises(DownloadError, match="server answered 503; gave up after 4 tries"):
        _job(hub, library, quick).run()


def test_gated_repo_asks_for_a_token_and_works_with_one(
    hub, library, quick, hub_server, model_bytes
):
    with pytest.raises(AuthRequired, match=r"test-org/gated-GGUF needs a Hugging Face token"):
        _job(hub, library, quick, repo="test-org/gated-GGUF").run()
    assert "" in hub_server.stats.auth_headers  # no token was sent when none was given
    dest = _job(hub, library, quick, repo="test-org/gated-GGUF", token="hf_test_token").run()
    assert dest is not None and dest.read_bytes() == model_bytes
    assert hub_server.stats.auth_headers[-1] == "Bearer hf_test_token"


def test_missing_file_says_what_is_missing(hub, library, quick, hub_server):
    remote = hub.resolve(REPO, FILE).files[0]
    gone = RemoteFile(
        REPO,
        "gone.gguf",
        remote.revision,
        10,
        "0" * 64,
        None,
        hub.file_url(REPO, remote.revision, "gone.gguf"),
    )
    job = DownloadJob(
        gone,
        library.models_dir / "gone.gguf",
        partial_dir=library.partial_dir,
        quarantine_dir=library.quarantine_dir,
        settings=quick,
    )
    with pytest.raises(NotFoundOnHub, match=r"gone.gguf was not found in test-org/tiny-GGUF"):
        job.run()


def test_each_single_byte_corruption_is_caught_and_quarantined(
    hub, library, quick, hub_server, model_bytes
):
    """Through the queue, which registers a model only when its download verified."""
    queue = DownloadQueue(hub, library, settings=quick)
    rng = random.Random(4)
    offsets = rng.sample(range(len(model_bytes)), 20)
    for i, offset in enumerate(offsets):
        hub_server.faults.corrupt_at = offset
        snap = queue.wait(queue.add(REPO, FILE).id, 30)
        assert (snap.state, snap.error_kind) == ("failed", "ChecksumMismatch")
        assert "do not match the hub's checksum; moved to" in snap.error
        assert len(list(library.quarantine_dir.iterdir())) == i + 1
        assert not (library.download_dir(REPO) / FILE).exists()
        assert library.list() == []
    assert _no_temp_files(library)
    bad = sorted(library.quarantine_dir.iterdir())[0].read_bytes()
    assert len(bad) == len(model_bytes) and bad != model_bytes
    hub_server.faults.corrupt_at = None  # the control: the same path installs good bytes
    assert queue.wait(queue.add(REPO, FILE).id, 30).state == "done"
    assert [m.name for m in library.list()] == ["tiny-gptoss"]


def test_not_enough_free_space_is_refused_before_starting(hub, library, hub_server):
    settings = DownloadSettings(disk_margin_bytes=1 << 60)
    with pytest.raises(
        DiskFull, match=r"not enough disk space for tiny-gptoss.gguf: needs .* free"
    ):
        _job(hub, library, settings).run()
    assert hub_server.stats.body_bytes == 0


def test_small_non_lfs_files_are_checked_by_git_blob_id(hub_online, library, quick):
    data = b"plain git file\n" * 1000
    with HubServer({REPO: Repo({"notes.gguf": data}, lfs=False)}) as server:
        hub = Hub(server.endpoint)
        remote = hub.resolve(REPO, "notes.gguf").files[0]
        assert remote.sha256 is None and remote.blob_id
        assert _job(hub, library, quick, file="notes.gguf").run() is not None
        server.faults.corrupt_at = 5
        (library.download_dir(REPO) / "notes.gguf").unlink()
        with pytest.raises(ChecksumMismatch):
            _job(hub, library, quick, file="notes.gguf").run()


def test_progress_reaches_the_caller_a_few_times_a_second(hub, library, hub_server, model_bytes):
    hub_server.faults.rate_limit_bps = len(model_bytes) // 2  # about two seconds
    seen: list[tuple[float, Progress]] = []
    settings = DownloadSettings(progress_interval_s=0.25)
    _job(hub, library, settings, progress=lambda p: seen.append((time.monotonic(), p))).run()
    running = [(t, p) for t, p in seen if p.phase == "downloading"]
    span = running[-1][0] - running[0][0]
    assert span > 1.0
    assert len(running) / span <= 5  # throttled to about four a second
    assert len(running) >= 4
    assert any(p.speed_bps > 0 and p.eta_s is not None for _, p in running)
    assert seen[-1][1].phase == "done" and seen[-1][1].done_bytes == len(model_bytes)


def test_resume_discards_a_partial_of_other_content(hub, library, quick, hub_server, model_bytes):
    job = _job(hub, library, quick)
    job.partial.parent.mkdir(parents=True)
    job.partial.write_bytes(b"x" * 5000)
    job.state_file.write_text('{"size": 1, "sha256": "other"}')
    assert job.run() is not None
    assert (
        hashlib.sha256((library.download_dir(REPO) / FILE).read_bytes()).hexdigest()
        == hashlib.sha256(model_bytes).hexdigest()
    )


def test_one_writer_per_partial_file(hub, library, quick, hub_server, model_bytes):
    hub_server.faults.pause_at = 500_000
    first = _job(hub, library, quick)
    worker = threading.Thread(target=first.run)
    worker.start()
    assert hub_server.paused.wait(10)
    with pytest.raises(DownloadError, match="already being downloaded"):
        _job(hub, library, quick).run()  # e.g. the command line while the window downloads
    hub_server.faults.pause_at = None
    hub_server.release.set()
    worker.join(10)
    assert (library.download_dir(REPO) / FILE).read_bytes() == model_bytes
    assert _no_temp_files(library)
