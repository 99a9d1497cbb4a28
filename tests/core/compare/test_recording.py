"""Comparisons saved in the store while they run, reopened, voted on, ranked."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gptoss_desktop.core.compare.blind import BlindOrder, VoteChoice
from gptoss_desktop.core.compare.engines import EnginePool
from gptoss_desktop.core.compare.recording import (
    ComparisonRecorder,
    saved_blind_order,
    saved_columns,
    standings,
)
from gptoss_desktop.core.compare.runner import ColumnSetup, CompareRun, CompareSettings
from gptoss_desktop.core.engine import SamplingOptions
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.templating.templates import ChatMessage
from tests.helpers import shared_model

SETTINGS = CompareSettings(sampling=SamplingOptions(temperature=0.0), max_tokens=32, n_ctx=512)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "app.db") as s:
        yield s


def test_a_run_is_saved_as_it_streams_and_reopens(store: Store) -> None:
    stories = shared_model("stories260K.gguf")
    recorder = ComparisonRecorder(store, flush_s=0.0)
    columns = [ColumnSetup(stories, label="story-a"), ColumnSetup(stories, label="story-b")]
    settings = replace(SETTINGS, blind=True)
    with EnginePool() as pool:
        run = CompareRun(columns, settings, pool=pool, listener=recorder, rng=random.Random(0))
        cid = recorder.begin(run, "Once upon a time", [ChatMessage("user", "earlier")])
        run.start("Once upon a time", [ChatMessage("user", "earlier")])
        results = run.wait(60)
    saved = store.comparisons.get(cid)
    assert saved.prompt == "Once upon a time"
    assert saved.messages == ({"role": "user", "content": "earlier"},)
    columns_back = saved_columns(saved)
    for col, result in zip(columns_back, results, strict=True):
        assert col.status == "done"
        assert col.answer == result.answer and col.answer.startswith(", there was")
        assert col.metrics.tokens == 32 and col.metrics.ttft_s == result.metrics.ttft_s
        assert col.settings["model_path"] == str(stories)
    order, blind = saved_blind_order(saved)
    assert blind and order == run.blind
    # The vote is stored by position, with the order shown, and names come back with it.
    stored = recorder.record_vote(run.blind.vote(VoteChoice.LEFT))
    assert stored.shown_order == run.blind.shown
    assert stored.winner_position == run.blind.shown[0]
    again = store.comparisons.get(cid)
    assert again.vote is not None
    assert saved_blind_order(again)[0] == run.blind


def test_leaderboard_numbers_by_hand(store: Store) -> None:
    """Three votes between A and B, checked against hand-computed Elo and win rates.

    Vote 1, A beats B: expected 0.5 each, A = 1000 + 32 x 0.5 = 1016, B = 984.
    Vote 2, tie: E(A) = 1 / (1 + 10^((984 - 1016) / 400)) = 1 / (1 + 10^-0.08) = 0.545922;
        A = 1016 + 32 x (0.5 - 0.545922) = 1014.5305, B = 985.4695.
    Vote 3, both bad: not rated, counted in all_bad.
    Win rate A = (1 + 0.5 x 1) / 2 = 0.75, B = 0.25; 2 votes each behind the rating.
    """
    spec = [ColumnSetup(Path("a.gguf"), label="A"), ColumnSetup(Path("b.gguf"), label="B")]
    for t, choice in ((1.0, VoteChoice.LEFT), (2.0, VoteChoice.TIE), (3.0, VoteChoice.ALL_BAD)):
        with EnginePool() as pool:
            run = CompareRun(spec, SETTINGS, pool=pool)
            recorder = ComparisonRecorder(store)
            cid = recorder.begin(run, f"prompt {t}")
        vote = BlindOrder.identity(2).vote(choice)
        store.votes.record(
            cid,
            shown_order=vote.shown_order,
            outcome=vote.outcome,
            winner_position=vote.winner_position,
            created_at=t,
        )
    table = {s.model: s for s in standings(store)}
    a, b = table["A"], table["B"]
    assert a.rating == pytest.approx(1014.5305, abs=1e-3)
    assert b.rating == pytest.approx(985.4695, abs=1e-3)
    assert (a.wins, a.losses, a.ties, a.all_bad, a.votes) == (1, 0, 1, 1, 2)
    assert (b.wins, b.losses, b.ties, b.all_bad, b.votes) == (0, 1, 1, 1, 2)
    assert a.win_rate == pytest.approx(0.75) and b.win_rate == pytest.approx(0.25)
    assert [s.model for s in standings(store)] == ["A", "B"]
