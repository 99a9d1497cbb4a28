"""Child process for the kill -9 test: streams into a message until it is killed.

``python -m tests.core.store.stream_child DB steady`` appends a numbered chunk every 20 ms
and prints ``<index> <unix time>`` after each append returned. ``stall`` appends two
chunks, prints, and then waits without appending (only the timer can save the second).
The first line printed is ``id <message id>``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gptoss_desktop.core.store import Store, StreamingWriter


def chunk(i: int) -> str:
    return f"<{i:05d}>"


def main() -> None:
    path, mode = Path(sys.argv[1]), sys.argv[2]
    store = Store.open(path)
    chat = store.conversations.create("crash test")
    store.messages.append(chat.id, "user", "stream please")
    message = store.messages.append(chat.id, "assistant", "", status="streaming")
    print(f"id {message.id}", flush=True)
    writer = StreamingWriter(store, message.id)
    if mode == "stall":
        writer.append(chunk(0))
        writer.append(chunk(1))
        print(f"1 {time.time()}", flush=True)
        time.sleep(600)
    i = 0
    while True:
        writer.append(chunk(i))
        print(f"{i} {time.time()}", flush=True)
        i += 1
        time.sleep(0.02)


if __name__ == "__main__":
    main()
