"""Fixguard: verify claimed fixes before merge.

The public surface is small; everything else lives in sub-packages and is internal.
"""

import logging

from .errors import HarnessError, InternalError, TargetError, UserError
from .outcomes import ExitCode, MutantStatus, RunOutcome, Verdict

__all__ = [
    "ExitCode",
    "HarnessError",
    "InternalError",
    "MutantStatus",
    "RunOutcome",
    "TargetError",
    "UserError",
    "Verdict",
]

__version__ = "0.1.0"

# A library logs and lets the program decide where it goes (`harness -v` shows it on stderr).
logging.getLogger(__name__).addHandler(logging.NullHandler())
