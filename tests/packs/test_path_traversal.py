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
from harness.findings import collect
from harness.scenario import run
from harness.strategies import (
    TRAVERSAL_FAMILIES,
    Hit,
    TraversalPayload,
    describe,
    probe,
    traversal_corpus,
    traversal_payloads,
)
from harness.targets import launch
from harness.targets.base import Target
from scenarios.path_traversal.sandbox import Sandbox, create, open_sandbox
from tests.packs.standins import WRITE_APP
from tests.packs.support import serve_app

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


@pytest.fixture(scope="module")
def serve_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One PUT app with a lenient and a strict route, each writing into its own sandbox."""
    root = tmp_path_factory.mktemp("files")
    boxes = {v: create(root / f"sandbox-{v}") for v in ("lenient", "strict")}
    env = {"LENIENT_DIR": str(boxes["lenient"].base), "STRICT_DIR": str(boxes["strict"].base)}
    with serve_app(root / "app", "files_app", WRITE_APP, env=env) as target:
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
    run(
        WRITE,
        {"call": "PUT /strict/files/{name}", "sandbox": str(box.root), "examples": 20},
        target,
    )
    assert target.client().put("/strict/files/ok.txt", content=b"x").status_code == 200
    assert (box.base / "ok.txt").read_bytes() == b"x"


# --- the strategies ---------------------------------------------------------------------------


def test_corpus_spells_every_family_the_issue_lists() -> None:
    texts = {p.text for p in traversal_corpus(["/s/canary.txt"], base="/s/base")}
    for expected in [
        "../canary.txt",
        "..\\canary.txt",
        "%2e%2e%2fcanary.txt",
        "%252e%252e%252fcanary.txt",
        "%c0%ae%c0%ae/canary.txt",
        "/s/canary.txt",
        "C:\\s\\canary.txt",
        "\\\\127.0.0.1\\c$\\s\\canary.txt",
        "../canary.txt\x00.txt",
        "....//canary.txt",
        "..././canary.txt",
        "..;/canary.txt",
        "////s/canary.txt",
    ]:
        assert expected in texts
    mixed = traversal_corpus(["/s/x/canary.txt"], base="/s/base", families=["mixed-separators"])
    assert mixed[0].text == "../x\\canary.txt"


def test_strategy_and_payload_reprs_rebuild_the_call() -> None:
    strategy = traversal_payloads(["/s/canary.txt"], base="/s/base", max_extra=1)
    assert (
        repr(strategy) == "traversal_payloads(goals=['/s/canary.txt'], base='/s/base', max_extra=1)"
    )
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
    def attempt(p: TraversalPayload) -> Hit[TraversalPayload] | None:
        return Hit(p, "deep") if p.text.count("..") >= 3 and "../" in p.text else None

    result = probe(
        traversal_corpus(["/a/b/c/base/../x"], base="/a/b/c/base"),
        traversal_payloads(["/a/b/c/x"], base="/a/b/c/base", max_extra=3),
        attempt,
        examples=200,
        seed=1,
    )
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


# --- precision: a check judges traversal only; 5xx and the operator's own links are apart -----

READ_APP = textwrap.dedent("""
    import os
    from pathlib import Path
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import FileResponse

    app = FastAPI()
    BASE = Path(os.environ["READ_BASE"])

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/nul500/{name:path}")
    def contained_but_crashes_on_nul(name: str):
        # Correct containment; resolve() raises ValueError on a NUL byte, which becomes a 500.
        path = (BASE / name).resolve()
        if not path.is_relative_to(BASE.resolve()) or not path.is_file():
            raise HTTPException(404)
        return FileResponse(path)

    def file_at(name: str, path: Path, contained: bool = True):
        # A NUL byte is refused first: is_file() raises ValueError on one.
        if "\\x00" in name:
            raise HTTPException(400)
        if not contained or not path.is_file():
            raise HTTPException(404)
        return FileResponse(path)

    @app.get("/links/{name:path}")
    def follows_links_in_the_base(name: str):
        # Lexical containment only: '../' is refused, links inside the base are followed.
        path = Path(os.path.normpath(BASE / name))
        return file_at(name, path, path.is_relative_to(BASE))

    @app.get("/links-and-dotdot/{name:path}")
    def follows_links_and_dotdot(name: str):
        return file_at(name, BASE / name)
""")


@pytest.fixture(scope="module")
def serve_reads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, Sandbox]]:
    root = tmp_path_factory.mktemp("reads")
    box = create(root / "sandbox")
    with serve_app(root / "app", "reads_app", READ_APP, env={"READ_BASE": str(box.base)}) as target:
        yield target, box


def reads(box: Sandbox, route: str, **extra: Any) -> dict[str, Any]:
    return {
        "call": f"GET /{route}/{{name}}",
        "sandbox": str(box.root),
        "examples": 20,
        "seed": 7,
        **extra,
    }


def test_a_500_on_a_nul_byte_is_a_finding_not_an_escape(serve_reads: Any) -> None:
    target, box = serve_reads
    with collect() as seen:
        run(READ, reads(box, "nul500"), target)
    nul = [f for f in seen if "family='null-byte'" in f.problem]
    assert nul and all("HTTP 500" in f.problem for f in nul)
    assert all(f.check == READ for f in seen)
    assert nul[0].repro.startswith("curl -s --path-as-is -X GET http://127.0.0.1:")
    assert "%00" in nul[0].repro


def test_a_500_fails_the_check_when_the_binding_asks(serve_reads: Any) -> None:
    target, box = serve_reads
    with pytest.raises(AssertionError) as caught:
        run(READ, reads(box, "nul500", server_errors="fail"), target)
    message = str(caught.value)
    assert "family='null-byte'): HTTP 500" in message
    assert 'server_errors = "fail"' in message
    assert "returned the canary" not in message


def test_links_the_operator_placed_are_followed_by_design_when_trusted(serve_reads: Any) -> None:
    target, box = serve_reads
    # Untrusted (the default), base/link models a link an attacker planted: an escape.
    with pytest.raises(AssertionError, match=r"link.*returned the canary outside/canary.txt"):
        run(READ, reads(box, "links"), target)
    with collect() as seen:
        run(READ, reads(box, "links", trusted_symlinks=True), target)
    assert not [f for f in seen if "canary" in f.problem]


def test_a_dotdot_escape_still_fails_with_trusted_links(serve_reads: Any) -> None:
    target, box = serve_reads
    with pytest.raises(AssertionError) as caught:
        run(READ, reads(box, "links-and-dotdot", trusted_symlinks=True), target)
    message = str(caught.value)
    assert "minimal payload: TraversalPayload('../canary.txt', family='dotdot')" in message
    assert "link/" not in message.split("\n")[2]  # the minimal escape is not through a link


def test_probe_picks_its_minimal_payload_among_violations_and_lists_findings_after() -> None:
    def attempt(p: TraversalPayload) -> Hit[TraversalPayload] | None:
        if p.family == "null-byte":
            return Hit(p, "HTTP 500", violation=False)
        if p.family == "percent-encoded":
            return Hit(p, "returned the canary")
        return None

    result = probe(
        traversal_corpus(["/s/canary.txt"], base="/s/base"),
        traversal_payloads(["/s/canary.txt"], base="/s/base"),
        attempt,
        examples=0,
    )
    assert not result.ok
    assert result.minimal is not None and result.minimal.payload.family == "percent-encoded"
    text = describe(result)
    assert text.index("percent-encoded") < text.index("findings (1, not this check's bug class)")
    assert "null-byte" in text.split("findings (")[1]

    only_findings = probe(
        traversal_corpus(["/s/canary.txt"], base="/s/base", families=["null-byte"]),
        traversal_payloads(["/s/canary.txt"], base="/s/base"),
        attempt,
        examples=0,
    )
    assert only_findings.ok and only_findings.minimal is None
    assert [h.payload.family for h in only_findings.findings] == ["null-byte"]


DROPPING_APP = textwrap.dedent("""
    import os, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path
    from urllib.parse import unquote

    BASE = Path(os.environ["READ_BASE"]).resolve()
    DIE = os.environ.get("DIE_ON_NUL") == "1"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            name = unquote(self.path.removeprefix("/files/"))
            if "\\x00" in name:
                if DIE:
                    os._exit(3)
                self.close_connection = True  # drop bad input without an answer
                return
            path = (BASE / name).resolve()
            ok = self.path.startswith("/files/") and path.is_relative_to(BASE) and path.is_file()
            body = path.read_bytes() if ok else b"not found"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
""")


@pytest.mark.parametrize("dies", [False, True], ids=["drops-bad-input", "crashes"])
def test_a_dropped_request_is_a_finding_while_the_target_still_answers(
    tmp_path: Path, dies: bool
) -> None:
    (tmp_path / "dropping_app.py").write_text(DROPPING_APP)
    box = create(tmp_path / "sandbox")
    binding = {
        "call": "GET /files/{name}",
        "sandbox": str(box.root),
        "examples": 0,
        "families": ["dotdot", "null-byte"],
    }
    with launch(
        {
            "kind": "process",
            "cwd": tmp_path,
            "health": "/files/public.txt",
            "command": "{python} dropping_app.py {port}",
            "env": {"READ_BASE": str(box.base), "DIE_ON_NUL": "1" if dies else "0"},
        }
    ) as target:
        if dies:
            with pytest.raises(AssertionError, match="the target stopped answering"):
                run(READ, binding, target)
            return
        with collect() as seen:
            run(READ, binding, target)
    dropped = [f for f in seen if "family='null-byte'" in f.problem]
    assert dropped and all("the target still answers other requests" in f.problem for f in dropped)
    assert "%00" in dropped[0].repro
