"""Entry script of the frozen app: the GUI, ``--self-test``, sub-commands and ``--worker``."""

import sys

from gptoss_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
