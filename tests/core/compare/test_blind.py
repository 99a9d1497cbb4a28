"""Blind order: slots on screen vs. column positions, votes and reveal."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.compare.blind import BlindOrder, Vote, VoteChoice, slot_name


def test_two_column_choices_map_slots_to_positions() -> None:
    order = BlindOrder((1, 0))  # column 1 is shown on the left
    assert order.vote(VoteChoice.LEFT) == Vote("win", 1, (1, 0))
    assert order.vote(VoteChoice.RIGHT) == Vote("win", 0, (1, 0))
    assert order.vote("tie") == Vote("tie", None, (1, 0))
    assert order.vote(VoteChoice.ALL_BAD) == Vote("all_bad", None, (1, 0))
    assert order.reveal(["gpt-oss", "llama"]) == ["llama", "gpt-oss"]
    assert order.slot_of(0) == 1 and order.position_at(0) == 1


def test_slot_names_and_bad_slots() -> None:
    assert [slot_name(i) for i in range(4)] == ["Model A", "Model B", "Model C", "Model D"]
    with pytest.raises(ValueError):
        BlindOrder.identity(2).vote_for_slot(2)
