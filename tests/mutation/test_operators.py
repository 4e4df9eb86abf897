"""Each fix-revert operator produces the expected code; arid code is skipped and counted."""

from __future__ import annotations

import textwrap

import pytest

from harness.mutation.families import Family
from harness.mutation.scope import FileScope
from harness.mutation.visit import Discovery, mutants_of_file


def _discover(source: str, *, strict: bool = False, lines: set[int] | None = None) -> Discovery:
    source = textwrap.dedent(source).lstrip("\n")
    found = Discovery()
    scope = FileScope("m.py", frozenset(lines or range(1, len(source.splitlines()) + 1)))
    mutants_of_file("m.py", source, scope, strict=strict, into=found)
    return found


def mutated(source: str, operator: str) -> str:
    found = _discover(source)
    matches = [m for m in found.mutants if m.operator == operator]
    assert len(matches) == 1, [m.operator for m in found.mutants]
    return matches[0].source


def code(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


CASES = [
    (
        "with-lock-removal",
        """
        def f(self):
            with self._lock:
                self.n += 1
                return self.n
        """,
        """
        def f(self):
            self.n += 1
            return self.n
        """,
    ),
    (
        "async-with-lock-removal",
        """
        async def f(self):
            async with self._start_lock, other:
                await go()
        """,
        """
        async def f(self):
            async with other:
                await go()
        """,
    ),
    (
        "acquire-release-removal",
        """
        def f(lock, items):
            lock.acquire()
            try:
                items.append(1)
            finally:
                lock.release()
        """,
        """
        def f(lock, items):
            try:
                items.append(1)
            finally:
                pass
        """,
    ),
    (
        "guard-delete",
        """
        def f(n, cap):
            if n >= cap:
                raise Full()
            return n
        """,
        """
        def f(n, cap):
            return n
        """,
    ),
    (
        "guard-false",
        """
        def f(n, cap):
            if n >= cap:
                return None
            else:
                n += 1
            return n
        """,
        """
        def f(n, cap):
            if False:
                return None
            else:
                n += 1
            return n
        """,
    ),
    (
        "resolve-identity",
        "def f(base, name):\n    return (base / name).resolve()\n",
        "def f(base, name):\n    return (base / name)\n",
    ),
    (
        "realpath-identity",
        "import os\ndef f(a, b):\n    return os.path.realpath(a or b)\n",
        "import os\ndef f(a, b):\n    return (a or b)\n",
    ),
    (
        "is_relative_to-true",
        "def f(p, base):\n    return p.is_relative_to(base)\n",
        "def f(p, base):\n    return True\n",
    ),
    (
        "startswith-true",
        "def f(p, base):\n    return str(p).startswith(str(base) + '/')\n",
        "def f(p, base):\n    return True\n",
    ),
    (
        "close-removal",
        "def f(conn):\n    conn.close()\n",
        "def f(conn):\n    pass\n",
    ),
    (
        "aclose-removal",
        "async def f(client):\n    x = 1\n    await client.aclose()\n",
        "async def f(client):\n    x = 1\n",
    ),
    (
        "cancel-removal",
        "def f(task):\n    task.cancel()\n    return 1\n",
        "def f(task):\n    return 1\n",
    ),
    (
        "finally-removal",
        """
        def f(conn):
            try:
                return conn.read()
            finally:
                conn.close()
        """,
        """
        def f(conn):
            try:
                return conn.read()
            finally:
                pass
        """,
    ),
    (
        "with-open-to-assign",
        """
        def f(p):
            with open(p) as fh:
                return fh.read()
        """,
        """
        def f(p):
            fh = open(p)
            return fh.read()
        """,
    ),
    (
        "task-add-removal",
        """
        def f(self, coro):
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            return task
        """,
        """
        def f(self, coro):
            task = asyncio.create_task(coro)
            return task
        """,
    ),
    (
        "task-discard-removal",
        "def f(self, task):\n    self._tasks.discard(task)\n    return 1\n",
        "def f(self, task):\n    return 1\n",
    ),
    (
        "timeout-none",
        "def f(client, url):\n    return client.get(url, timeout=5)\n",
        "def f(client, url):\n    return client.get(url, timeout=None)\n",
    ),
    (
        "on-conflict-removal",
        'SQL = "INSERT INTO t(k) VALUES (?) ON CONFLICT(k) DO NOTHING RETURNING id"\n',
        'SQL = "INSERT INTO t(k) VALUES (?) RETURNING id"\n',
    ),
    (
        "insert-or-ignore-removal",
        "SQL = 'INSERT OR IGNORE INTO t(k) VALUES (?)'\n",
        "SQL = 'INSERT INTO t(k) VALUES (?)'\n",
    ),
    (
        "o-excl-removal",
        "import os\ndef f(p):\n    return os.open(p, os.O_CREAT | os.O_EXCL)\n",
        "import os\ndef f(p):\n    return os.open(p, os.O_CREAT)\n",
    ),
    (
        "exclusive-create-to-overwrite",
        "def f(p):\n    return open(p, 'x')\n",
        "def f(p):\n    return open(p, 'w')\n",
    ),
]


@pytest.mark.parametrize("operator, before, after", CASES, ids=[c[0] for c in CASES])
def test_fix_revert_operator_produces_the_expected_code(operator, before, after):
    assert mutated(before, operator) == code(after)


def test_setdefault_becomes_check_then_set_with_the_same_single_threaded_result():
    source = "def claim(d, k, v):\n    return d.setdefault(k, v)\n"
    mutant = mutated(source, "setdefault-to-check-then-set")
    assert "setdefault" not in mutant and "_k in _d" in mutant
    namespace: dict[str, object] = {}
    exec(compile(mutant, "m.py", "exec"), namespace)
    claim = namespace["claim"]
    d: dict[str, int] = {}
    assert claim(d, "a", 1) == 1  # type: ignore[operator]
    assert claim(d, "a", 2) == 1  # type: ignore[operator]
    assert d == {"a": 1}


def test_statement_deletion_and_family_names():
    found = _discover("def f(items, x):\n    items.append(x)\n    return items\n")
    deletion = [m for m in found.mutants if m.operator == "delete-statement"]
    assert len(deletion) == 1
    assert deletion[0].family is Family.STATEMENT_DELETION
    assert "append" not in deletion[0].source
    assert {m.family.value for m in found.mutants} >= {"statement deletion", "generic"}


def test_cleanup_removal_is_not_duplicated_as_statement_deletion():
    found = _discover("def f(conn):\n    x = 1\n    conn.close()\n")
    on_close = [m for m in found.mutants if m.line == 3]
    assert [m.operator for m in on_close] == ["close-removal"]


def test_at_most_one_mutant_per_family_per_line():
    found = _discover("def f(a, b, c):\n    return a < b and b < c\n")
    keys = [(m.family, m.operator, m.line) for m in found.mutants]
    assert len(keys) == len(set(keys))
    assert found.skipped["duplicate: one mutant per family per line"] >= 1


def test_arid_code_is_skipped_and_counted_unless_strict():
    source = '''
    import logging
    import time
    log = logging.getLogger(__name__)

    def f(x, timeout=5):
        """Docstring."""
        log.info("got %s", x + 1)
        time.sleep(0.5)
        if x < 0:
            raise ValueError("negative: " + str(x))
        return x + 1
    '''
    relaxed = _discover(source)
    assert relaxed.skipped["arid: logging/metrics call"] >= 2
    assert relaxed.skipped["arid: exception message"] >= 1
    assert relaxed.skipped["arid: sleep/timeout number"] >= 2
    assert not any('log.info("XXgot' in m.source for m in relaxed.mutants)
    assert not any("time.sleep(1.5)" in m.source for m in relaxed.mutants)
    # the real logic on the same lines is still mutated
    assert any("return x - 1" in m.source for m in relaxed.mutants)
    assert any(m.operator == "guard-delete" for m in relaxed.mutants)
    strict = _discover(source, strict=True)
    assert not any(k.startswith("arid") for k in strict.skipped)
    assert any("time.sleep(1.5)" in m.source for m in strict.mutants)
    assert len(strict.mutants) > len(relaxed.mutants)


def test_pragma_no_mutate_is_respected():
    found = _discover("def f(x):\n    return x + 1  # pragma: no mutate\n")
    assert found.mutants == []
    assert found.skipped["pragma: no mutate"] >= 1


def test_every_mutant_compiles_and_has_a_stable_id():
    source = code(CASES[0][1]) + code(CASES[12][1])
    first = _discover(source).mutants
    second = _discover(source).mutants
    assert [m.id for m in first] == [m.id for m in second]
    assert len({m.id for m in first}) == len(first)
    for m in first:
        compile(m.source, "m.py", "exec")
        assert m.diff.startswith("--- a/m.py\n+++ b/m.py\n")


def test_mutants_only_where_the_changed_span_overlaps_the_fix_lines():
    source = "def f(a):\n    x = a + 1\n    y = a - 1\n    return x, y\n"
    found = _discover(source, lines={3})
    assert found.mutants
    assert all(m.lines == (3,) for m in found.mutants)


def test_a_status_code_in_a_raised_exception_is_not_arid():
    found = _discover("def f(n):\n    if n > 3:\n        raise HTTPException(429, 'too many')\n")
    sources = [m.source for m in found.mutants]
    assert any("HTTPException(430, 'too many')" in s for s in sources)
    assert not any("XXtoo many" in s for s in sources)
    assert found.skipped["arid: exception message"] >= 1
