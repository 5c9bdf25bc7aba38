"""Old home of the `kerasdrop` command: it is `kerasdrop.apps.cli` now.

Kept for console scripts written by an install before the move (they run
`from kerasdrop.cli import main`); reinstalling points them at
`kerasdrop.apps.cli:main`.
"""

from kerasdrop.apps.cli import main

__all__ = ["main"]
