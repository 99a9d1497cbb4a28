"""Win rate and Elo over blind votes, checked against arithmetic done by hand below.

Elo: E(a, b) = 1 / (1 + 10 ** ((R_b - R_a) / 400)); new R_a = R_a + K * (S - E), K = 32,
start 1000. Numbers were worked out on a calculator and are written out step by step.
"""

from __future__ import annotations

import pytest

from gptoss_desktop.core.compare.ratings import (
    Vote,
    elo_ratings,
    expected_score,
    leaderboard,
    pair_results,
)


def win(t: float, winner: str, *shown: str) -> Vote:
    return Vote(created_at=t, shown_models=tuple(shown), outcome="win", winner_model=winner)


def tie(t: float, *shown: str) -> Vote:
    return Vote(created_at=t, shown_models=tuple(shown), outcome="tie")


def all_bad(t: float, *shown: str) -> Vote:
    return Vote(created_at=t, shown_models=tuple(shown), outcome="all_bad")


def test_expected_score() -> None:
    # Equal ratings: 1 / (1 + 10**0) = 1/2.
    assert expected_score(1000, 1000) == 0.5
    # 400 points ahead: 1 / (1 + 10**-1) = 1 / 1.1 = 0.909090...
    assert expected_score(1400, 1000) == pytest.approx(0.9090909, abs=1e-7)


def test_one_win_between_new_models() -> None:
    # Both start at 1000, E = 0.5. Winner: 1000 + 32 * (1 - 0.5) = 1016. Loser: 1000 - 16 = 984.
    assert elo_ratings([win(1, "A", "A", "B")]) == {"A": 1016.0, "B": 984.0}
    # With K = 16 the step is 16 * 0.5 = 8.
    assert elo_ratings([win(1, "A", "A", "B")], k=16) == {"A": 1008.0, "B": 992.0}


def test_sequence_win_win_tie() -> None:
    votes = [win(1, "A", "A", "B"), win(2, "A", "B", "A"), tie(3, "A", "B")]
    # Vote 1: A 1016, B 984 (see above).
    # Vote 2: E_A = 1 / (1 + 10**((984 - 1016) / 400)) = 1 / (1 + 10**-0.08)
    #             = 1 / (1 + 0.8317638) = 0.5459219
    #         change = 32 * (1 - 0.5459219) = 14.5304985
    #         A = 1016 + 14.5304985 = 1030.5304985, B = 984 - 14.5304985 = 969.4695015
    # Vote 3 (tie): E_A = 1 / (1 + 10**((969.4695015 - 1030.5304985) / 400))
    #             = 1 / (1 + 10**-0.1526525) = 1 / (1 + 0.7036410) = 0.5869802
    #         change = 32 * (0.5 - 0.5869802) = -2.7833648
    #         A = 1030.5304985 - 2.7833648 = 1027.7471337, B = 969.4695015 + 2.7833648 = 972.2528663
    r = elo_ratings(votes)
    assert r["A"] == pytest.approx(1027.7471337, abs=1e-6)
    assert r["B"] == pytest.approx(972.2528663, abs=1e-6)
    assert r["A"] + r["B"] == pytest.approx(2000.0)  # two-player Elo keeps the sum


def test_votes_are_applied_in_time_order() -> None:
    # B wins last (t=2), A first (t=1), though given in the other order.
    # t=1: A 1016, B 984.
    # t=2: E_B = 1 / (1 + 10**((1016 - 984) / 400)) = 1 - 0.5459219 = 0.4540781
    #      change = 32 * (1 - 0.4540781) = 17.4695015: B = 1001.4695015, A = 998.5304985
    r = elo_ratings([win(2, "B", "A", "B"), win(1, "A", "A", "B")])
    assert r["B"] == pytest.approx(1001.4695015, abs=1e-6)
    assert r["A"] == pytest.approx(998.5304985, abs=1e-6)


def test_three_way_win_beats_each_other_model() -> None:
    # Pairs (A,B) and (A,C), all at 1000 before the vote: each pair moves 16 points.
    # A = 1000 + 16 + 16 = 1032, B = 984, C = 984.
    assert elo_ratings([win(1, "A", "B", "A", "C")]) == {"A": 1032.0, "B": 984.0, "C": 984.0}


def test_three_way_tie_uses_ratings_from_before_the_vote() -> None:
    votes = [win(1, "A", "A", "B"), tie(2, "C", "B", "A")]
    # Before vote 2: A 1016, B 984, C 1000 (new).
    # Pair (A,B): E_A = 0.5459219 (as above); change_A = 32 * (0.5 - 0.5459219) = -1.4695015
    # Pair (A,C): E_A = 1 / (1 + 10**(-16/400)) = 1 / (1 + 0.9120108) = 0.5230096
    #             change_A = 32 * (0.5 - 0.5230096) = -0.7363068
    # Pair (B,C): E_B = 1 / (1 + 10**(16/400)) = 1 - 0.5230096 = 0.4769904
    #             change_B = 32 * (0.5 - 0.4769904) = +0.7363068
    # A = 1016 - 1.4695015 - 0.7363068 = 1013.7941917
    # B = 984 + 1.4695015 + 0.7363068 = 986.2058083
    # C = 1000 + 0.7363068 - 0.7363068 = 1000
    r = elo_ratings(votes)
    assert r["A"] == pytest.approx(1013.7941917, abs=1e-6)
    assert r["B"] == pytest.approx(986.2058083, abs=1e-6)
    assert r["C"] == pytest.approx(1000.0, abs=1e-9)


def test_all_bad_is_excluded_from_rating_and_win_rate() -> None:
    votes = [win(1, "A", "A", "B"), all_bad(2, "A", "B"), all_bad(3, "A", "C")]
    # Only vote 1 moves ratings: A 1016, B 984. C was only in an all_bad vote: unrated.
    assert elo_ratings(votes) == {"A": 1016.0, "B": 984.0}
    board = {s.model: s for s in leaderboard(votes)}
    assert (board["A"].votes, board["A"].all_bad, board["A"].win_rate) == (1, 2, 1.0)
    assert (board["B"].votes, board["B"].all_bad, board["B"].win_rate) == (1, 1, 0.0)
    c = board["C"]
    assert (c.rating, c.votes, c.all_bad, c.win_rate) == (1000.0, 0, 1, None)


def test_win_rate_counts_ties_as_half() -> None:
    votes = [
        win(1, "A", "A", "B"),
        win(2, "A", "A", "C"),
        win(3, "B", "A", "B"),
        tie(4, "A", "B", "C"),
    ]
    board = {s.model: s for s in leaderboard(votes)}
    # A: wins 2 (t1, t2), losses 1 (t3), ties 1 (t4): (2 + 0.5) / 4 = 0.625
    a = board["A"]
    assert (a.wins, a.losses, a.ties, a.votes) == (2, 1, 1, 4)
    assert a.win_rate == 0.625
    # B: loss t1, win t3, tie t4: (1 + 0.5) / 3 = 0.5
    assert board["B"].win_rate == 0.5
    # C: loss t2, tie t4: (0 + 0.5) / 2 = 0.25
    assert board["C"].win_rate == 0.25


def test_leaderboard_order() -> None:
    # A beats B (A 1016, B 984); C beats D (C 1016, D 984); E and F tie (both stay 1000).
    votes = [win(1, "A", "A", "B"), win(2, "C", "C", "D"), tie(3, "F", "E")]
    board = leaderboard(votes)
    # Equal ratings: more votes first, then name: A/C at 1016 (1 vote each) -> A, C.
    assert [s.model for s in board] == ["A", "C", "E", "F", "B", "D"]
    assert [s.rating for s in board] == [1016.0, 1016.0, 1000.0, 1000.0, 984.0, 984.0]


def test_same_model_in_two_columns() -> None:
    # Labels count once: (A, A, B) won by A is one game A-B: A 1016, B 984.
    assert elo_ratings([win(1, "A", "A", "A", "B")]) == {"A": 1016.0, "B": 984.0}
    # A vote between two columns of the same model carries no comparison at all.
    assert elo_ratings([win(1, "A", "A", "A")]) == {}
    assert leaderboard([tie(1, "A", "A")]) == []


def test_pair_results() -> None:
    assert pair_results(win(1, "B", "A", "B", "C")) == [("B", "A", 1.0), ("B", "C", 1.0)]
    assert pair_results(tie(1, "A", "B", "C")) == [
        ("A", "B", 0.5),
        ("A", "C", 0.5),
        ("B", "C", 0.5),
    ]
    assert pair_results(all_bad(1, "A", "B")) == []


@pytest.mark.parametrize(
    "vote",
    [
        Vote(1, ("A", "B"), "win", "C"),
        Vote(1, ("A", "B"), "win", None),
        Vote(1, ("A", "B"), "tie", "A"),
        Vote(1, ("A", "B"), "left_better", None),
    ],
)
def test_malformed_votes_are_programming_errors(vote: Vote) -> None:
    with pytest.raises(ValueError):
        elo_ratings([vote])


def test_no_votes() -> None:
    assert elo_ratings([]) == {}
    assert leaderboard([]) == []
