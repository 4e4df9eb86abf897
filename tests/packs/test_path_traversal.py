"""The path traversal pack against the sample (reads) and a small PUT app (writes), via uvicorn."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import UserError
from harness.scenario import run
from harness.strategies import (
    TRAVERSAL_FAMILIES,
    Finding,
    TraversalPayload,
    probe,
    traversal_corpus,
    traversal_payloads,
)
from harness.targets import launch
from harness.targets.base import Target
from scenarios.path_traversal.sandbox import Sandbox, create, open_sandbox

READ = "path_traversal.read_stays_inside_base"
WRITE = "path_traversal.write_stays_inside_base"


@pytest.fixture
def serve_exports(shared_sample: Callable[[str], Any]) -> Callable[[str], tuple[Target, Sandbox]]:
    """`serve_exports(rev)`: the session's sample server at `rev` and its traversal sandbox."""

    def get(rev: str) -> tuple[Target, Sandbox]:
        shared = shared_sample(rev)
        return shared.target, open_sandbox(shared.sandbox)

    return get


def read_binding(box: Sandbox, **extra: Any) -> dict[str, Any]:
    return {"call": "GET /exports/{name}", "sandbox": str(box.root), **extra}


def test_read_check_fails_on_the_buggy_base_with_the_minimal_payload(serve_exports: Any) -> None:
    target, box = serve_exports("base")
    before = box.snapshot()
    with pytest.raises(AssertionError) as caught:
        run(READ, read_binding(box), target)
    message = str(caught.value)
    assert "minimal payload: TraversalPayload('../canary.txt', family='dotdot')" in message
    assert "returned the canary canary.txt" in message
    assert "repro: curl -s --path-as-is -X GET http://127.0.0.1:" in message
    assert box.snapshot() == before  # reads changed nothing outside the base


def test_read_check_still_fails_on_the_incomplete_prefix_fix(
    serve_exports: Any, fixed: Callable[[str], None]
) -> None:
    fixed("export-traversal")
    target, box = serve_exports("export-traversal")
    with pytest.raises(AssertionError) as caught:
        run(READ, read_binding(box), target)
    # The prefix check without a separator lets the sibling 'base-evil' through.
    assert "returned the canary base-evil/secret.txt" in str(caught.value)


def test_read_check_passes_on_the_corrected_head(
    serve_exports: Any, fixed: Callable[[str], None]
) -> None:
    fixed("export-traversal")
    target, box = serve_exports("head")
    before = box.snapshot()
    run(READ, read_binding(box, examples=20, families=list(TRAVERSAL_FAMILIES)), target)
    assert box.snapshot() == before
    assert target.client().get("/exports/public.txt").text == "public export\n"


def test_null_byte_gets_a_4xx_on_the_corrected_head(
    serve_exports: Any, fixed: Callable[[str], None]
) -> None:
    fixed("export-traversal")
    target, box = serve_exports("head")
    # resolve() raises ValueError on a NUL byte; the corrected fix answers 404, never a 500.
    run(READ, read_binding(box, examples=0, families=["null-byte"]), target)


# --- writes: the sample has no write endpoint, so a 20-line PUT app stands in ---------------

WRITE_APP = textwrap.dedent('''
    import os, re
    from pathlib import Path
    from fastapi import FastAPI, HTTPException, Request

    app = FastAPI()
    DIRS = {"lenient": Path(os.environ["LENIENT_DIR"]), "strict": Path(os.environ["STRICT_DIR"])}
    NAME = re.compile(r"[\\w.-]+(/[\\w.-]+)*")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.put("/{variant}/files/{name:path}")
    async def put(variant: str, name: str, request: Request):
        data = await request.body()
        BASE = DIRS[variant]
        if variant == "strict":
            if not NAME.fullmatch(name):
                raise HTTPException(400, "bad file name")
            path = (BASE / name).resolve()
            if not path.is_relative_to(BASE.resolve()):
                raise HTTPException(400, "outside the base")
        else:
            path = Path(f"{BASE}/{name}")
        try:
            path.write_bytes(data)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise HTTPException(404, "no such directory") from None
        return {"written": len(data)}
''')


@pytest.fixture(scope="module")
def serve_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One PUT app with a lenient and a strict route, each writing into its own sandbox."""
    root = tmp_path_factory.mktemp("files")
    (root / "app").mkdir()
    (root / "app" / "files_app.py").write_text(WRITE_APP)
    boxes = {v: create(root / f"sandbox-{v}") for v in ("lenient", "strict")}
    with launch({
        "kind": "process", "cwd": root / "app", "health": "/healthz",
        "command": "{python} -m uvicorn files_app:app --port {port} --log-level warning",
        "env": {"LENIENT_DIR": str(boxes["lenient"].base),
                "STRICT_DIR": str(boxes["strict"].base)},
    }) as target:
        yield {"target": target, **boxes}


def test_write_check_fails_when_a_payload_modifies_the_canary(serve_files: Any) -> None:
    target, box = serve_files["target"], serve_files["lenient"]
    before = box.snapshot()
    with pytest.raises(AssertionError) as caught:
        run(WRITE, {"call": "PUT /lenient/files/{name}", "sandbox": str(box.root)}, target)
    message = str(caught.value)
    assert "minimal payload: TraversalPayload('../canary.txt', family='dotdot')" in message
    assert "modified canary.txt" in message
    assert box.snapshot() == before  # every escape was undone after it was recorded


def test_write_check_passes_when_names_are_resolved_and_contained(serve_files: Any) -> None:
    target, box = serve_files["target"], serve_files["strict"]
    run(WRITE, {"call": "PUT /strict/files/{name}", "sandbox": str(box.root), "examples": 20},
        target)
    assert target.client().put("/strict/files/ok.txt", content=b"x").status_code == 200
    assert (box.base / "ok.txt").read_bytes() == b"x"


# --- the strategies ---------------------------------------------------------------------------


def test_corpus_spells_every_family_the_issue_lists() -> None:
    texts = {p.text for p in traversal_corpus(["/s/canary.txt"], base="/s/base")}
    for expected in ["../canary.txt", "..\\canary.txt", "%2e%2e%2fcanary.txt",
                     "%252e%252e%252fcanary.txt", "%c0%ae%c0%ae/canary.txt", "/s/canary.txt",
                     "C:\\s\\canary.txt", "\\\\127.0.0.1\\c$\\s\\canary.txt",
                     "../canary.txt\x00.txt", "....//canary.txt", "..././canary.txt",
                     "..;/canary.txt", "////s/canary.txt"]:
        assert expected in texts
    mixed = traversal_corpus(["/s/x/canary.txt"], base="/s/base", families=["mixed-separators"])
    assert mixed[0].text == "../x\\canary.txt"


def test_strategy_and_payload_reprs_rebuild_the_call() -> None:
    strategy = traversal_payloads(["/s/canary.txt"], base="/s/base", max_extra=1)
    assert repr(strategy) == "traversal_payloads(goals=['/s/canary.txt'], base='/s/base', max_extra=1)"
    assert repr(TraversalPayload("../x", "dotdot")) == "TraversalPayload('../x', family='dotdot')"
    with pytest.raises(TypeError, match=r"families=.*unknown \[.dotdott.\]"):
        traversal_corpus(["/a"], families=["dotdott"])


@settings(max_examples=50, deadline=None)
@given(traversal_payloads(["/s/canary.txt", "/s/base/link/c.txt"], base="/s/base"))
def test_every_dotdot_payload_resolves_to_its_goal(payload: TraversalPayload) -> None:
    if payload.family != "dotdot":
        return
    import posixpath

    resolved = posixpath.normpath(posixpath.join("/s/base", payload.text))
    assert resolved == payload.goal


def test_hypothesis_shrinks_a_deep_payload_to_the_minimal_one() -> None:
    # A rule that only a climb of 3 or more breaks: the corpus (1 level) passes, Hypothesis
    # finds a deep payload and shrinks it to exactly three levels, plain '../'.
    def attempt(p: TraversalPayload) -> Finding[TraversalPayload] | None:
        return Finding(p, "deep") if p.text.count("..") >= 3 and "../" in p.text else None

    result = probe(traversal_corpus(["/a/b/c/base/../x"], base="/a/b/c/base"),
                   traversal_payloads(["/a/b/c/x"], base="/a/b/c/base", max_extra=3),
                   attempt, examples=200, seed=1)
    assert result.phase == "hypothesis"
    assert result.minimal is not None
    assert result.minimal.payload.text == "../../../b/c/x"
    assert TRAVERSAL_FAMILIES[0] == "dotdot"


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(TRAVERSAL_FAMILIES))
def test_every_family_builds_a_payload(family: str) -> None:
    [payload] = traversal_corpus(["/s/canary.txt"], base="/s/base", families=[family])
    assert payload.family == family and payload.text


def test_sandbox_snapshot_sees_and_restore_undoes_every_change_outside_the_base(
    tmp_path: Path,
) -> None:
    box = create(tmp_path / "s")
    before = box.snapshot()
    (box.root / "canary.txt").write_text("overwritten")
    (box.root / "outside" / "new.txt").write_text("x")  # written through base/link
    (box.root / "made").mkdir()
    (box.root / "made" / "deep.txt").write_text("y")
    (box.base / "inside.txt").write_text("inside the base is not watched")
    changes = before.changes(box.snapshot())
    assert changes[:3] == ["created made", "created made/deep.txt", "created outside/new.txt"]
    assert changes[3].startswith("modified canary.txt (sha256 ")
    box.restore(before)
    assert box.snapshot() == before
    assert box.leaked((box.root / "canary.txt").read_bytes()) == ["canary.txt"]
    assert open_sandbox(box.root) == box
    with pytest.raises(UserError, match="no sandbox layout there"):
        open_sandbox(tmp_path)
    with pytest.raises(UserError, match="is not empty"):
        create(box.root)
