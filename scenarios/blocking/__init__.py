"""Blocking: event-loop lag in-process under load, and a fast endpoint's latency while slow
requests are in flight. Importing this package registers its checks."""

from . import event_loop_lag, fast_endpoint_latency

__all__ = ["event_loop_lag", "fast_endpoint_latency"]
