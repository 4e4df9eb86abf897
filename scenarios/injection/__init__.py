"""Injection: SQL payloads in ids and query parameters cause no 5xx, no SQL error text, no leak.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import sql_payloads_leak_nothing

__all__ = ["sql_payloads_leak_nothing"]
