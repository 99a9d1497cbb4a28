"""Reasoning sections split from the answer while streaming, whatever the chunking."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.templating.reasoning import ReasoningSplitter, TextPiece, opens_reasoning


def run(chunks: list[str], **kw: bool) -> tuple[str, str, list[TextPiece]]:
    splitter = ReasoningSplitter(**kw)
    pieces: list[TextPiece] = []
    for chunk in chunks:
        pieces += splitter.feed(chunk)
    pieces += splitter.finish()
    reasoning = "".join(p.text for p in pieces if p.channel == "analysis")
    answer = "".join(p.text for p in pieces if p.channel == "final")
    assert (reasoning, answer) == (splitter.reasoning, splitter.answer)
    return reasoning, answer, pieces


TEXT = "<think>\nThe user greets me. Reply kindly.\n</think>\n\nHello! How can I help?"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
def test_any_chunking_gives_the_same_split(size: int) -> None:
    chunks = [TEXT[i : i + size] for i in range(0, len(TEXT), size)]
    reasoning, answer, _ = run(chunks)
    assert reasoning == "The user greets me. Reply kindly.\n"
    assert answer == "Hello! How can I help?"


def test_every_single_cut_point() -> None:
    for cut in range(len(TEXT) + 1):
        reasoning, answer, _ = run([TEXT[:cut], TEXT[cut:]])
        assert answer == "Hello! How can I help?", cut
        assert reasoning.startswith("The user greets me."), cut


def test_prompt_that_opened_think_starts_in_reasoning() -> None:
    assert opens_reasoning("<｜Assistant｜><think>\n")
    assert not opens_reasoning("<|im_start|>assistant\n")
    reasoning, answer, _ = run(["Let me think.</thi", "nk>Answer."], start_in_reasoning=True)
    assert (reasoning, answer) == ("Let me think.", "Answer.")


def test_other_tag_styles_and_plain_text() -> None:
    assert run(["[THINK]hmm[/THINK]ok"])[:2] == ("hmm", "ok")
    assert run(["<thinking>a</thinking>b"])[:2] == ("a", "b")
    assert run(["no tags at all, a < b and x <t"])[:2] == ("", "no tags at all, a < b and x <t")


def test_unclosed_reasoning_stays_reasoning() -> None:
    reasoning, answer, pieces = run(["Intro <think>still thinking when cut"])
    assert (reasoning, answer) == ("still thinking when cut", "Intro ")
    assert [p.channel for p in pieces] == ["final", "analysis"]
