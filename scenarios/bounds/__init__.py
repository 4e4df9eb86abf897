"""Bounds: retries that end, list endpoints that page, rate limits that hold.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import list_is_paginated, rate_limited, retries_terminate

__all__ = ["list_is_paginated", "rate_limited", "retries_terminate"]
