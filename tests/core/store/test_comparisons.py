"""Comparisons: columns, statuses, blind votes, reopening, export and import."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from gptoss_desktop.core.compare.ratings import leaderboard
from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store import ColumnSpec, Comparison, Store
from gptoss_desktop.core.store.compare_export import (
    export_comparison_csv,
    export_comparison_json,
    export_comparison_markdown,
    export_comparisons_csv,
    import_comparison_json,
)


def finished_comparison(store: Store, prompt: str = "Write a haiku about rain.") -> Comparison:
    comp = store.comparisons.create(
        prompt,
        [
            ColumnSpec("gpt-oss-20b", {"reasoning_effort": "low", "temperature": 1.0}),
            ColumnSpec("qwen3-4b", {"temperature": 0.7}),
            ColumnSpec("=cmd|' /C calc'!A0", {}),
        ],
        messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    )
    a, b, c = comp.columns
    store.comparisons.update_column(
        a.id, output="Rain taps the window", reasoning="A haiku has 5-7-5.", status="done",
        metrics={"ttft_s": 0.31, "tokens_per_s": 48.0, "completion_tokens": 20, "stop_reason": "stop_token"},
    )  # fmt: skip
    store.comparisons.update_column(
        b.id,
        output="Drops",
        status="cancelled",
        metrics={"ttft_s": 0.2, "tokens": 2, "vram_mb": 900},
    )
    store.comparisons.update_column(c.id, status="error", error="-model file is truncated")
    return store.comparisons.get(comp.id)


def test_create_and_reopen(store: Store, db_path: Path) -> None:
    comp = finished_comparison(store)
    assert comp.title == "Write a haiku about rain."
    assert [c.position for c in comp.columns] == [0, 1, 2]
    assert [c.status for c in comp.columns] == ["done", "cancelled", "error"]
    assert comp.columns[0].settings == {"reasoning_effort": "low", "temperature": 1.0}
    assert comp.messages[1] == {"role": "assistant", "content": "Hello!"}
    store.close()
    with Store.open(db_path) as again:
        assert again.comparisons.get(comp.id) == comp
        assert [c.id for c in again.comparisons.list_recent()] == [comp.id]


@pytest.mark.parametrize("count", [0, 1, 5])
def test_column_count_is_two_to_four(store: Store, count: int) -> None:
    with pytest.raises(StoreError, match="2 to 4 columns"):
        store.comparisons.create("p", [ColumnSpec(f"m{i}") for i in range(count)])


def test_reset_and_recover_columns(store: Store) -> None:
    comp = finished_comparison(store)
    reset = store.comparisons.reset_column(comp.columns[0].id)
    assert (reset.output, reset.reasoning, reset.metrics, reset.status) == ("", "", None, "pending")
    assert store.comparisons.recover_interrupted() == 1
    assert store.comparisons.column(reset.id).status == "interrupted"


def test_vote_records_the_shuffle_and_replaces_earlier_vote(store: Store) -> None:
    comp = finished_comparison(store)
    # Shown right-to-left shuffled: column 1 on the left, column 0 on the right.
    vote = store.votes.record(comp.id, shown_order=[1, 0], outcome="win", winner_position=0)
    assert vote.shown_order == (1, 0) and vote.winner_position == 0
    assert store.comparisons.get(comp.id).vote == vote
    tie = store.votes.record(comp.id, shown_order=[0, 2, 1], outcome="tie")
    assert store.comparisons.get(comp.id).vote == tie
    records = store.votes.records()
    assert len(records) == 1
    assert records[0].shown_models == ("gpt-oss-20b", "=cmd|' /C calc'!A0", "qwen3-4b")
    assert records[0].outcome == "tie" and records[0].winner_model is None
    store.votes.clear(comp.id)
    assert store.comparisons.get(comp.id).vote is None


@pytest.mark.parametrize(
    ("order", "outcome", "winner", "problem"),
    [
        ([0], "tie", None, "at least two"),
        ([0, 0], "tie", None, "at least two"),
        ([0, 7], "tie", None, "at least two"),
        ([0, 1], "win", None, "winning column"),
        ([0, 1], "win", 2, "winning column"),
        ([0, 1], "tie", 0, "has no winner"),
        ([0, 1], "all_bad", 1, "has no winner"),
        ([0, 1], "left", None, "Unknown vote outcome"),
    ],
)
def test_bad_votes_are_refused(
    store: Store, order: list[int], outcome: str, winner: int | None, problem: str
) -> None:
    comp = finished_comparison(store)
    with pytest.raises(StoreError, match=problem):
        store.votes.record(comp.id, shown_order=order, outcome=outcome, winner_position=winner)  # type: ignore[arg-type]
    assert store.comparisons.get(comp.id).vote is None


def test_votes_feed_the_leaderboard_in_time_order(store: Store) -> None:
    for i, (winner, when) in enumerate([(0, 30.0), (0, 10.0), (1, 20.0)]):
        comp = store.comparisons.create(f"p{i}", [ColumnSpec("A"), ColumnSpec("B")])
        store.votes.record(
            comp.id, shown_order=[1, 0], outcome="win", winner_position=winner, created_at=when
        )
    bad = store.comparisons.create("p3", [ColumnSpec("A"), ColumnSpec("B")])
    store.votes.record(bad.id, shown_order=[0, 1], outcome="all_bad", created_at=40.0)
    records = store.votes.records()
    assert [r.created_at for r in records] == [10.0, 20.0, 30.0, 40.0]
    assert [r.winner_model for r in records] == ["A", "B", "A", None]
    board = {s.model: s for s in leaderboard(records)}
    assert (board["A"].wins, board["A"].losses, board["A"].all_bad) == (2, 1, 1)
    assert board["A"].rating > 1000 > board["B"].rating
    # Deleting a comparison takes its vote off the leaderboard.
    store.comparisons.delete(bad.id)
    assert len(store.votes.records()) == 3
    with pytest.raises(StoreError, match="does not exist"):
        store.comparisons.get(bad.id)


def test_markdown_export(store: Store) -> None:
    comp = finished_comparison(store)
    store.votes.record(comp.id, shown_order=[2, 0, 1], outcome="win", winner_position=0)
    md = export_comparison_markdown(store, comp.id)
    assert md.startswith("# Write a haiku about rain.\n")
    assert (
        "**gpt-oss-20b** won. Shown left to right: =cmd|' /C calc'!A0 (column 3), gpt-oss-20b (column 1), qwen3-4b (column 2)."
        in md
    )
    assert "## Prompt\n\nWrite a haiku about rain." in md
    assert (
        "<summary>Conversation before the prompt</summary>" in md and "**Assistant:** Hello!" in md
    )
    assert (
        "## Column 1: gpt-oss-20b\n\n*done · first token 0.31 s · 48.0 tokens/s · 20 tokens*" in md
    )
    assert "<summary>Reasoning</summary>\n\nA haiku has 5-7-5." in md
    assert "*error: -model file is truncated*" in md and "*(no output)*" in md
    assert "*cancelled · first token 0.20 s · 2 tokens*" in md


def test_csv_export_one_row_per_column(store: Store) -> None:
    comp = finished_comparison(store)
    store.votes.record(comp.id, shown_order=[0, 1], outcome="win", winner_position=1)
    rows = list(csv.DictReader(io.StringIO(export_comparison_csv(store, comp.id), newline="")))
    assert [r["model"] for r in rows] == ["gpt-oss-20b", "qwen3-4b", "'=cmd|' /C calc'!A0"]
    assert [r["vote"] for r in rows] == ["loss", "win", "not_shown"]
    assert rows[0]["ttft_s"] == "0.31" and rows[0]["tokens_per_s"] == "48.0"
    assert rows[0]["completion_tokens"] == "20" and rows[0]["stop_reason"] == "stop_token"
    assert rows[1]["vram_mb"] == "900" and rows[0]["vram_mb"] == ""
    assert rows[1]["tokens"] == "2"  # compare's ColumnMetrics name
    assert rows[2]["error"] == "'-model file is truncated"  # no formula injection
    assert rows[0]["output_chars"] == str(len("Rain taps the window"))
    header = next(csv.reader(io.StringIO(export_comparison_csv(store, comp.id))))
    assert header[:8] == [
        "comparison_id",
        "title",
        "created_at",
        "position",
        "model",
        "status",
        "error",
        "vote",
    ]
    assert header[8:13] == ["ttft_s", "tokens_per_s", "completion_tokens", "tokens", "stop_reason"]
    two = export_comparisons_csv(store, [comp.id, finished_comparison(store, "again").id])
    assert len(list(csv.DictReader(io.StringIO(two)))) == 6


def test_json_export_import_round_trip(store: Store) -> None:
    comp = finished_comparison(store)
    store.votes.record(comp.id, shown_order=[1, 0, 2], outcome="win", winner_position=2)
    data = export_comparison_json(store, comp.id)
    assert data["format"] == "gptoss-desktop/comparison" and data["version"] == 1
    new = import_comparison_json(store, json.dumps(data))
    assert new.id != comp.id
    again = export_comparison_json(store, new.id)
    data.pop("exported_at")
    again.pop("exported_at")
    assert again == data


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(format="x"),
        lambda d: d.update(version=2),
        lambda d: d["columns"][0].update(status="great"),
        lambda d: d["columns"][1].update(position=5),
        lambda d: d.update(columns=d["columns"][:1], vote=None),  # one column is no comparison
        lambda d: d.update(vote={"outcome": "win", "shown_order": [0, 1], "winner_position": 9}),
        lambda d: d.update(vote={"outcome": "tie", "shown_order": "01"}),
        lambda d: d["comparison"].update(prompt=None),
    ],
)
def test_bad_comparison_files_are_refused(store: Store, change: object) -> None:
    comp = finished_comparison(store)
    store.votes.record(comp.id, shown_order=[0, 1], outcome="tie")
    data = export_comparison_json(store, comp.id)
    before = len(store.comparisons.list_recent())
    change(data)  # type: ignore[operator]
    with pytest.raises(StoreError):
        import_comparison_json(store, data)
    assert len(store.comparisons.list_recent()) == before
