"""Entry point of the inference worker process: ``python -m gptoss_desktop.worker``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from gptoss_desktop.worker.server import main as serve

    return serve(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
