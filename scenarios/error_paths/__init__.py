"""Error paths: undefined names (missing imports) found statically and by driving except branches.

Importing this package registers its checks with ``harness.scenario``.
"""

from . import handlers_survive_faults, no_undefined_names

__all__ = ["handlers_survive_faults", "no_undefined_names"]
