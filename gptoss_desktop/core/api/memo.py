"""What the API remembers between requests of one conversation, to keep prompts stable.

API clients send the whole conversation every time, as text. Re-rendering the model's own
messages from text may tokenize differently from what it generated, which would cut the
worker's KV-cache prefix short; and clients drop the reasoning that preceded a tool call, which
gpt-oss expects to see again while the tool loop goes on. So the API keeps, per loaded model
and bounded (least recently used first out):

* the exact token ids the model generated for each message it wrote (by message), and
* the analysis messages it wrote before each tool call (by call id), and
* the model's vocabulary with its cache of tokenized texts (the system and developer
  messages repeat in every request).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gptoss_desktop.core.harmony.model import Message


class GenerationMemo:
    def __init__(self, max_messages: int = 1024, max_calls: int = 512) -> None:
        self._lock = threading.Lock()
        self._tokens: OrderedDict[Message, tuple[int, ...]] = OrderedDict()
        self._calls: OrderedDict[str, tuple[Message, ...]] = OrderedDict()
        self.max_messages = max_messages
        self.max_calls = max_calls
        #: the model's vocabulary with its tokenization cache, kept across requests (used
        #: only by the request holding the model's turn)
        self.vocab: Any = None

    def tokens_for(self, message: Message) -> list[int] | None:
        with self._lock:
            tokens = self._tokens.get(message)
            if tokens is None:
                return None
            self._tokens.move_to_end(message)
            return list(tokens)

    def remember(self, message: Message, tokens: Sequence[int]) -> None:
        with self._lock:
            self._tokens[message] = tuple(tokens)
            self._tokens.move_to_end(message)
            while len(self._tokens) > self.max_messages:
                self._tokens.popitem(last=False)

    def remember_call(self, call_id: str, reasoning: Sequence[Message]) -> None:
        with self._lock:
            self._calls[call_id] = tuple(reasoning)
            while len(self._calls) > self.max_calls:
                self._calls.popitem(last=False)

    def reasoning_for(self, call_id: str) -> list[Message]:
        with self._lock:
            return list(self._calls.get(call_id, ()))

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._calls.clear()
