"""Blind comparisons: columns shuffled and names hidden until the user votes.

Positions are the columns as configured (0..n-1); *slots* are the places on screen, left
to right. ``BlindOrder.shown`` lists the position shown in each slot. A vote names a slot
(what the user saw) and is stored by position, together with the order that was shown, so
the model behind it is known only after the vote.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

VoteOutcome = Literal["win", "tie", "all_bad"]


class VoteChoice(enum.StrEnum):
    """What the user can say about a blind pair: left/right better, tie, all bad."""

    LEFT = "left"
    RIGHT = "right"
    TIE = "tie"
    ALL_BAD = "all_bad"


@dataclass(frozen=True)
class Vote:
    """A vote as the store saves it: ``outcome`` win/tie/all_bad, the winner by position."""

    outcome: VoteOutcome
    winner_position: int | None
    shown_order: tuple[int, ...]


def slot_name(slot: int) -> str:
    return f"Model {chr(ord('A') + slot)}"


@dataclass(frozen=True)
class BlindOrder:
    shown: tuple[int, ...]  # shown[slot] = position

    @classmethod
    def shuffled(cls, n: int, rng: random.Random | None = None) -> BlindOrder:
        order = list(range(n))
        (rng or random.SystemRandom()).shuffle(order)
        return cls(tuple(order))

    @classmethod
    def identity(cls, n: int) -> BlindOrder:
        return cls(tuple(range(n)))

    def slot_of(self, position: int) -> int:
        return self.shown.index(position)

    def position_at(self, slot: int) -> int:
        return self.shown[slot]

    def vote_for_slot(self, slot: int | None, *, tie: bool = False) -> Vote:
        """Winner shown in ``slot``; ``slot=None`` with ``tie`` for a tie, without for all bad."""
        if slot is not None:
            if not 0 <= slot < len(self.shown):
                raise ValueError(f"no column is shown in slot {slot}")
            return Vote("win", self.position_at(slot), self.shown)
        return Vote("tie" if tie else "all_bad", None, self.shown)

    def vote(self, choice: VoteChoice | str) -> Vote:
        """The two-column choices: left better, right better, tie, both bad."""
        choice = VoteChoice(choice)
        if choice is VoteChoice.LEFT:
            return self.vote_for_slot(0)
        if choice is VoteChoice.RIGHT:
            return self.vote_for_slot(len(self.shown) - 1)
        return self.vote_for_slot(None, tie=choice is VoteChoice.TIE)

    def reveal(self, labels: Sequence[str]) -> list[str]:
        """The real model names, slot by slot."""
        return [labels[p] for p in self.shown]
