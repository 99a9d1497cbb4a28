"""Issue 16 item 8: marker tokens like <|end_story|> never reach a compare answer."""

from __future__ import annotations

from gptoss_desktop.core.templating.session import MarkerFilter


def feed_all(pieces: list[str], markers: tuple[str, ...]) -> str:
    f = MarkerFilter(markers)
    return "".join(f.feed(p) for p in pieces) + f.finish()


def test_a_marker_in_one_piece_or_spelled_over_many_is_dropped():
    m = ("<|end_story|>", "<|start_story|>")
    assert feed_all(["Once upon a time.<|end_story|>"], m) == "Once upon a time."
    assert feed_all(["The end.", "<|", "end", "_story", "|>", " More"], m) == "The end. More"
    assert feed_all(["<|start_story|>Hi"], m) == "Hi"


def test_text_that_only_looks_like_a_marker_start_is_kept():
    m = ("<|end_story|>",)
    assert feed_all(["a <", "| b"], m) == "a <| b"
    assert feed_all(["x <|end"], m) == "x <|end"  # held, then given back at the end
    assert feed_all(["plain"], ()) == "plain"
