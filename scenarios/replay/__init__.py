"""Replay and dedup: nonces accepted once, freshness, bounded state, eviction, TTL windows.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import bounded_memory, dedup_window, freshness, nonce_once, out_of_order_eviction

__all__ = ["bounded_memory", "dedup_window", "freshness", "nonce_once", "out_of_order_eviction"]
