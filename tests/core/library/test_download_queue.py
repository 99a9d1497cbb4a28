"""DownloadQueue: several downloads in order, pause/resume/cancel, shards as one model, restore."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gptoss_desktop.core.library import DownloadQueue, TaskSnapshot
from tests.core.library.conftest import FILE, REPO


def _wait_for_partial(library, size: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(p.stat().st_size >= size for p in library.partial_dir.glob("*.partial")):
            return
        time.sleep(0.01)
    raise AssertionError(f"no partial file reached {size} bytes")


def _queue(hub, library, quick, **kw) -> tuple[DownloadQueue, list[TaskSnapshot]]:
    q = DownloadQueue(hub, library, settings=quick, **kw)
    events: list[TaskSnapshot] = []
    q.subscribe(events.append)
    return q, events


def test_downloads_queue_and_run_one_after_another(hub, library, quick, hub_server, model_bytes):
    q, events = _queue(hub, library, quick)
    a = q.add(REPO, FILE)
    b = q.add("test-org/sharded-GGUF", "big-00001-of-00003.gguf")
    assert q.wait(a.id, 30).state == "done"
    assert q.wait(b.id, 30).state == "done"
    # max_active=1: the second started only after the first had finished
    order = [(e.id, e.state) for e in events if e.state in ("running", "done")]
    assert order.index((a.id, "done")) < order.index((b.id, "running"))
    names = {m.name for m in library.list()}
    assert names == {"tiny-gptoss", "big"}


def test_sharded_gguf_downloads_as_one_model(hub, library, quick, hub_server, model_bytes):
    q, events = _queue(hub, library, quick)
    t = q.add("test-org/sharded-GGUF", "big-00002-of-00003.gguf")  # any shard names the model
    done = q.wait(t.id, 30)
    assert done.state == "done" and done.file_count == 3 and done.total_bytes == len(model_bytes)
    (model,) = library.list()
    assert model.name == "big" and len(model.files) == 3
    assert b"".join(Path(f).read_bytes() for f in model.files) == model_bytes
    assert max(e.done_bytes for e in events) == len(model_bytes)


def test_pause_keeps_the_partial_and_resume_finishes_it(
    hub, library, quick, hub_server, model_bytes
):
    hub_server.faults.pause_at = 1_000_000
    q, _ = _queue(hub, library, quick)
    t = q.add(REPO, FILE)
    assert hub_server.paused.wait(10)
    _wait_for_partial(library, 1_000_000)
    q.pause(t.id)
    hub_server.faults.pause_at = None
    hub_server.release.set()
    assert q.wait(t.id, 10).state == "paused"
    partials = list(library.partial_dir.glob("*.partial"))
    assert len(partials) == 1
    kept = partials[0].stat().st_size
    assert kept >= 1_000_000
    sent = hub_server.stats.body_bytes
    q.resume(t.id)
    assert q.wait(t.id, 30).state == "done"
    assert hub_server.stats.body_bytes - sent == len(model_bytes) - kept
    assert library.get("tiny-gptoss").path.read_bytes() == model_bytes
    assert not list(library.partial_dir.iterdir())


def test_cancel_deletes_the_partial(hub, library, quick, hub_server):
    hub_server.faults.pause_at = 500_000
    q, _ = _queue(hub, library, quick)
    t = q.add(REPO, FILE)
    assert hub_server.paused.wait(10)
    q.cancel(t.id)
    hub_server.faults.pause_at = None
    hub_server.release.set()
    assert q.wait(t.id, 10).state == "cancelled"
    assert not list(library.partial_dir.glob("*"))
    assert library.list() == []


def test_failed_download_reports_the_error_kind(hub, library, quick, hub_server):
    q, _ = _queue(hub, library, quick)
    t = q.add("test-org/gated-GGUF", FILE)
    snap = q.wait(t.id, 10)
    assert snap.state == "failed" and snap.error_kind == "AuthRequired"
    assert "token" in snap.error
    q2, _ = _queue(hub, library, quick, token=lambda: "hf_test_token")
    assert q2.wait(q2.add("test-org/gated-GGUF", FILE).id, 30).state == "done"


def test_restore_offers_downloads_left_by_an_earlier_session(
    hub, library, quick, hub_server, model_bytes
):
    hub_server.faults.pause_at = 800_000
    q, _ = _queue(hub, library, quick)
    t = q.add(REPO, FILE)
    assert hub_server.paused.wait(10)
    _wait_for_partial(library, 800_000)
    q.shutdown()  # the app closes: running downloads pause
    hub_server.faults.pause_at = None
    hub_server.release.set()
    assert q.wait(t.id, 10).state == "paused"

    later, _ = _queue(hub, library, quick)  # the next session
    (restored,) = later.restore()
    assert (restored.repo_id, restored.filename, restored.state) == (REPO, FILE, "paused")
    later.resume(restored.id)
    assert later.wait(restored.id, 30).state == "done"
    assert library.get("tiny-gptoss").path.read_bytes() == model_bytes


def test_listeners_are_called_from_the_worker_thread(hub, library, quick, hub_server):
    q = DownloadQueue(hub, library, settings=quick)
    threads: set[str] = set()
    q.subscribe(lambda s: threads.add(threading.current_thread().name))
    q.wait(q.add(REPO, FILE).id, 30)
    assert any(name.startswith("download-") for name in threads)
