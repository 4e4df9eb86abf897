"""Which paths hold tests: one pattern rule and one default list for every part that asks.

The mutation scope never mutates a test path; the base's work tree gets the head's test paths
laid over it; PR mode tells test changes from source changes. All three match with
`is_test_path`, so a root `conftest.py` or `test_x.py` is a test everywhere or nowhere.

Patterns are fnmatch's: `*` matches across folders (`tests/*` takes `tests/a/b.py`), and a
leading `**/` may also match no folder at all (`**/conftest.py` takes the root's).
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

#: Where tests live.
TEST_GLOBS: tuple[str, ...] = (
    "tests/**",
    "test/**",
    "**/tests/**",
    "**/test/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
)
#: The root's files that may hold pytest's config; the overlay takes only their pytest part.
TEST_CONFIG: tuple[str, ...] = ("pytest.ini", "setup.cfg", "tox.ini", "pyproject.toml")
#: What the base's work tree gets from the head unless the manifest says otherwise.
DEFAULT_TEST_PATHS: tuple[str, ...] = TEST_GLOBS + TEST_CONFIG


def matches(path: str, pattern: str) -> bool:
    return fnmatchcase(path, pattern) or (
        pattern.startswith("**/") and fnmatchcase(path, pattern[3:])
    )


def is_test_path(path: str, patterns: Sequence[str] = TEST_GLOBS) -> bool:
    return any(matches(path, pattern) for pattern in patterns)
