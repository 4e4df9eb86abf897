"""Races: capacity limits, single consumers, exclusive creates, lost updates, shared caches.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import capacity_limit, exclusive_create, lost_update, shared_cache, single_consumer

__all__ = ["capacity_limit", "exclusive_create", "lost_update", "shared_cache", "single_consumer"]
