"""StreamingWriter: commits at most once per interval, never leaves text waiting longer."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store import ColumnSpec, ColumnStreamingWriter, Store, StreamingWriter
from tests.core.store.support import committed

INTERVAL = 0.25


def saved_content(path: Path, message_id: int) -> str:
    rows = committed(path, "SELECT content FROM messages WHERE id = ?", (message_id,))
    return str(rows[0][0])


def wait_for(predicate: object, timeout: float = 5.0) -> float:
    """Seconds until ``predicate()`` was true; fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.01)
    pytest.fail(f"condition not reached within {timeout} s")


def new_answer(store: Store) -> int:
    chat = store.conversations.create()
    store.messages.append(chat.id, "user", "q")
    return store.messages.append(chat.id, "assistant", "", status="streaming").id


def test_first_append_is_committed_at_once(store: Store, db_path: Path) -> None:
    mid = new_answer(store)
    writer = StreamingWriter(store, mid, interval_s=60)
    writer.append("Hello")
    assert saved_content(db_path, mid) == "Hello"
    writer.append(", world")  # within the interval: buffered
    assert saved_content(db_path, mid) == "Hello"
    done = writer.finish(metrics={"completion_tokens": 2})
    assert (done.content, done.status, done.metrics) == (
        "Hello, world",
        "complete",
        {"completion_tokens": 2},
    )
    assert saved_content(db_path, mid) == "Hello, world"


def test_commits_at_most_once_per_interval(store: Store, db_path: Path) -> None:
    mid = new_answer(store)
    writer = StreamingWriter(store, mid, interval_s=INTERVAL)
    start = time.monotonic()
    for i in range(60):
        writer.append(f"<{i}>")
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    writes = writer._buffer.writes
    writer.finish()
    # One write at the first append, then at most one per interval that passed.
    assert 2 <= writes <= math.ceil(elapsed / INTERVAL) + 1
    assert saved_content(db_path, mid) == "".join(f"<{i}>" for i in range(60))


def test_stalled_stream_is_saved_by_the_timer(store: Store, db_path: Path) -> None:
    mid = new_answer(store)
    writer = StreamingWriter(store, mid, interval_s=INTERVAL)
    writer.append("a")
    writer.append("b")  # buffered; no further call comes
    waited = wait_for(lambda: saved_content(db_path, mid) == "ab")
    assert waited >= INTERVAL * 0.8  # not before the interval
    assert store.messages.get(mid).status == "streaming"
    writer.finish("cancelled")
    assert store.messages.get(mid).status == "cancelled"


def test_finished_writer_refuses_more(store: Store) -> None:
    mid = new_answer(store)
    writer = StreamingWriter(store, mid)
    writer.finish()
    with pytest.raises(StoreError, match="already finished"):
        writer.append("late")
    with pytest.raises(StoreError, match="already finished"):
        writer.finish()
    with pytest.raises(StoreError, match="final status"):
        StreamingWriter(store, mid).finish("streaming")


def test_exception_in_block_marks_error(store: Store) -> None:
    mid = new_answer(store)
    with pytest.raises(RuntimeError), StreamingWriter(store, mid, interval_s=60) as writer:
        writer.append("partial ")
        writer.append("answer")
        raise RuntimeError("worker crashed")
    m = store.messages.get(mid)
    assert (m.content, m.status, m.error) == ("partial answer", "error", "worker crashed")


def test_failed_timer_write_is_raised_not_dropped(store: Store) -> None:
    mid = new_answer(store)
    writer = StreamingWriter(store, mid, interval_s=INTERVAL)
    writer.append("a")
    writer.append("b")
    store.messages.delete(mid)  # the timer's write will find no row
    time.sleep(INTERVAL * 3)
    with pytest.raises(StoreError, match="does not exist"):
        writer.append("c")


def test_writer_sets_streaming_and_works_for_regenerate(store: Store) -> None:
    chat = store.conversations.create()
    store.messages.append(chat.id, "user", "q")
    old = store.messages.append(chat.id, "assistant", "old answer")
    new = store.messages.regenerate(old.id)
    with StreamingWriter(store, new.id) as writer:
        writer.append("new answer")
    assert store.messages.get(new.id).status == "complete"
    assert [m.content for m in store.messages.active_path(chat.id)] == ["q", "new answer"]


def test_column_writer_streams_output_and_reasoning(store: Store, db_path: Path) -> None:
    comp = store.comparisons.create("Say hi", [ColumnSpec("a"), ColumnSpec("b")])
    col = comp.columns[0]
    writer = ColumnStreamingWriter(store, col.id, interval_s=INTERVAL)
    assert store.comparisons.column(col.id).status == "streaming"
    writer.append_reasoning("think ")
    writer.append_output("H")
    writer.append_reasoning("more")
    writer.append_output("i!")
    wait_for(
        lambda: (
            committed(
                db_path, "SELECT output, reasoning FROM comparison_columns WHERE id = ?", (col.id,)
            )
            == [("Hi!", "think more")]
        )
    )
    writer.finish(metrics={"tokens_per_s": 12.5})
    done = store.comparisons.column(col.id)
    assert (done.status, done.metrics) == ("done", {"tokens_per_s": 12.5})
    other = ColumnStreamingWriter(store, comp.columns[1].id)
    other.finish("error", error="model failed to load")
    assert store.comparisons.column(comp.columns[1].id).error == "model failed to load"
    with pytest.raises(StoreError, match="final status"):
        ColumnStreamingWriter(store, col.id).finish("pending")


def test_column_writer_context_manager_marks_error(store: Store) -> None:
    comp = store.comparisons.create("p", [ColumnSpec("a"), ColumnSpec("b")])
    col_id = comp.columns[1].id
    with pytest.raises(RuntimeError), ColumnStreamingWriter(store, col_id, interval_s=60) as writer:
        writer.append_output("so far")
        raise RuntimeError("out of memory")
    col = store.comparisons.column(col_id)
    assert (col.output, col.status, col.error) == ("so far", "error", "out of memory")
