"""Placeholders: input that is silently discarded, routes that answer 501 or raise NotImplementedError.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import input_round_trip, no_unimplemented_routes

__all__ = ["input_round_trip", "no_unimplemented_routes"]
