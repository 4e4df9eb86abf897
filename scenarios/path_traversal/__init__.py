"""Path traversal: reads and writes through a path parameter stay inside the base directory.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import read_stays_inside_the_base, write_stays_inside_the_base

__all__ = ["read_stays_inside_the_base", "write_stays_inside_the_base"]
