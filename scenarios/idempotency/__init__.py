"""Idempotency (IETF Idempotency-Key draft): key validation, replay, mismatch, races, rollback.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import (
    concurrent_requests,
    failure_rollback,
    key_validation,
    loser_rollback,
    payload_mismatch,
    replay,
)

__all__ = [
    "concurrent_requests",
    "failure_rollback",
    "key_validation",
    "loser_rollback",
    "payload_mismatch",
    "replay",
]
