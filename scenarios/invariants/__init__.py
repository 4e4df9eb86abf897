"""Invariants: window aggregations by currency, counts without fetching, config bounds.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import config_bounds, count_fetches_no_rows, window_aggregation

__all__ = ["config_bounds", "count_fetches_no_rows", "window_aggregation"]
