"""``python -m fastconv``: the command line (see fastconv.cli)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
