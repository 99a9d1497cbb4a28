"""A leaderboard from the user's own blind votes: win rate and an Elo-style rating.

Pure functions over vote records (anything shaped like :class:`VoteLike`, for example the
store's ``VoteRecord`` or :class:`Vote` here). The rules:

* A vote shows 2-4 models, identified by their label. Its outcome is ``win`` (one winner),
  ``tie`` or ``all_bad`` ("both bad").
* A ``win`` is a win of the winner over each other model shown; a ``tie`` is a draw
  between every pair of models shown.
* ``all_bad`` is **excluded** from the rating and the win rate, and counted per model in
  ``all_bad``. It says nothing about which model is better: as a draw it would pull the
  ratings together, as a loss for both it would only lower every model shown by about the
  same amount. The count keeps the information visible.
* A label shown twice in one vote counts once. A vote with fewer than two different labels
  carries no comparison and is skipped (it counts in nothing).
* Elo: every model starts at 1000, K = 32, the expected score of A against B is
  ``1 / (1 + 10 ** ((R_B - R_A) / 400))``, a win scores 1, a draw 0.5, a loss 0. Votes are
  applied one after another in time order (``created_at``; equal times keep input order).
  Within one vote all pairwise changes are computed from the ratings before that vote and
  added together, so the order of columns on screen does not matter.
* Win rate = (wins + 0.5 x ties) / votes that counted, per vote (not per pair): in a
  3-way win vote the winner gets one win and each other model one loss.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Protocol

START_RATING = 1000.0
K_FACTOR = 32.0
OUTCOMES = ("win", "tie", "all_bad")


class VoteLike(Protocol):
    @property
    def created_at(self) -> float: ...
    @property
    def shown_models(self) -> Sequence[str]: ...
    @property
    def outcome(self) -> str: ...
    @property
    def winner_model(self) -> str | None: ...


@dataclass(frozen=True)
class Vote:
    created_at: float
    shown_models: tuple[str, ...]
    outcome: str
    winner_model: str | None = None


@dataclass(frozen=True)
class Standing:
    """One leaderboard row. ``votes`` = wins + losses + ties (the votes behind the rating)."""

    model: str
    rating: float
    votes: int
    wins: int
    losses: int
    ties: int
    all_bad: int

    @property
    def win_rate(self) -> float | None:
        if self.votes == 0:
            return None
        return (self.wins + 0.5 * self.ties) / self.votes


def expected_score(rating: float, opponent: float) -> float:
    """Elo expected score of a player rated ``rating`` against ``opponent``."""
    return 1.0 / (1.0 + math.pow(10.0, (opponent - rating) / 400.0))


def _models(vote: VoteLike) -> list[str]:
    """The distinct labels shown, in order; checks the vote is well formed."""
    if vote.outcome not in OUTCOMES:
        raise ValueError(f"unknown vote outcome {vote.outcome!r}")
    distinct = list(dict.fromkeys(vote.shown_models))
    if vote.outcome == "win":
        if vote.winner_model not in distinct:
            raise ValueError(f"winner {vote.winner_model!r} is not among {distinct}")
    elif vote.winner_model is not None:
        raise ValueError(f"a {vote.outcome} vote has no winner")
    return distinct


def in_time_order(votes: Iterable[VoteLike]) -> list[VoteLike]:
    return sorted(votes, key=lambda v: v.created_at)  # sorted() is stable


def pair_results(vote: VoteLike) -> list[tuple[str, str, float]]:
    """The games a vote stands for: (a, b, score of a). Empty for all_bad or a single model."""
    models = _models(vote)
    if vote.outcome == "all_bad" or len(models) < 2:
        return []
    if vote.outcome == "win":
        winner = str(vote.winner_model)
        return [(winner, other, 1.0) for other in models if other != winner]
    return [(a, b, 0.5) for a, b in combinations(models, 2)]


def elo_ratings(
    votes: Iterable[VoteLike], *, k: float = K_FACTOR, start: float = START_RATING
) -> dict[str, float]:
    """Elo rating of every model that took part in at least one counted vote."""
    ratings: dict[str, float] = {}
    for vote in in_time_order(votes):
        games = pair_results(vote)
        deltas: dict[str, float] = {}
        for a, b, score in games:
            ra, rb = ratings.get(a, start), ratings.get(b, start)
            change = k * (score - expected_score(ra, rb))
            deltas[a] = deltas.get(a, 0.0) + change
            deltas[b] = deltas.get(b, 0.0) - change
        for model, delta in deltas.items():
            ratings[model] = ratings.get(model, start) + delta
    return ratings


def leaderboard(
    votes: Iterable[VoteLike], *, k: float = K_FACTOR, start: float = START_RATING
) -> list[Standing]:
    """Every model seen in a vote, best rating first (then more votes, then name).

    A model seen only in ``all_bad`` votes is listed with the start rating and no votes.
    """
    ordered = in_time_order(votes)
    counts: dict[str, list[int]] = {}  # model -> [wins, losses, ties, all_bad]
    for vote in ordered:
        models = _models(vote)
        if len(models) < 2:
            continue
        for model in models:
            row = counts.setdefault(model, [0, 0, 0, 0])
            if vote.outcome == "all_bad":
                row[3] += 1
            elif vote.outcome == "tie":
                row[2] += 1
            elif model == vote.winner_model:
                row[0] += 1
            else:
                row[1] += 1
    ratings = elo_ratings(ordered, k=k, start=start)
    table = [
        Standing(
            model=model,
            rating=ratings.get(model, start),
            votes=w + lo + t,
            wins=w,
            losses=lo,
            ties=t,
            all_bad=bad,
        )
        for model, (w, lo, t, bad) in counts.items()
    ]
    table.sort(key=lambda s: (-s.rating, -s.votes, s.model))
    return table
