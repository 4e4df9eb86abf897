"""Resilience: hung upstreams, failed upstream writes, swallowed errors. Importing this package
registers its checks."""

from . import failed_write, hung_upstream, swallowed_errors

__all__ = ["failed_write", "hung_upstream", "swallowed_errors"]
