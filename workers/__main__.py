"""``python -m workers [ROLE ...]`` and the one-off commands (``rebuild``, ``reprint``)."""

from __future__ import annotations

import sys

from workers.cli import main

if __name__ == "__main__":
    sys.exit(main())
