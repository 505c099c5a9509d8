"""What bulkapp needs from Linux for the processes it forks or starts."""

from __future__ import annotations

import ctypes
import sys

PR_SET_PDEATHSIG = 1


def signal_when_parent_dies(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent exits (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
