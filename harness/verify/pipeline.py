"""The verify pipeline: reproduce on the base, confirm on the head, then mutate the fix lines.

It emits events to a reporter and never prints. Each claim runs with the project's own
interpreter in temp worktrees; the user's tree is only read.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from ..claims.model import DEFAULT_RUN, Claim, Manifest
from ..errors import UserError
from ..forkserver import ServerPool
from ..git import git, repo_root, resolve_commit, show
from ..mutation.copies import CopyPool
from ..mutation.inputs import Inputs
from ..paths import cache_dir
from . import claim_mutation
from .collection import Collectable, check_node_ids
from .discovery import discover
from .job import ClaimJob, NullReporter, VerifyOptions, VerifyReporter
from .preflight import Places, check_claims, check_python
from .prmode import FindingOutcome, PrEvidence, manifest_evidence, pr_manifest
from .results import ClaimResult, RunResult
from .reuse import RunReuse
from .review_match import match_findings
from .workspace import claim_test_files, dirty_files, run_setup, worktrees

log = logging.getLogger(__name__)


def check_refs(repo: Path, base: str, head: str, allow_dirty: bool) -> tuple[Path, str, str]:
    """Resolve the repo and refs, refusing a dirty tree when the head is the checkout."""
    root = repo_root(repo)
    base_sha = resolve_commit(root, base, field="--base")
    head_sha = resolve_commit(root, head, field="--head")
    if base_sha == head_sha:
        raise UserError(
            f"--base={base!r} and --head={head!r} are the same commit; nothing to verify"
        )
    if not allow_dirty and head in ("HEAD", "@"):
        dirty = dirty_files(root)
        if dirty:
            shown = ", ".join(dirty[:5]) + (" …" if len(dirty) > 5 else "")
            raise UserError(
                f"the work tree has uncommitted changes ({shown}); they are not part of "
                f"--head={head!r} and would not be verified",
                where=str(root),
                hint="commit or stash them, or pass --allow-dirty to verify the commit as it is",
            )
    return root, base_sha, head_sha


def verify(options: VerifyOptions, reporter: VerifyReporter | None = None) -> RunResult:
    reporter = reporter or NullReporter()
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    root, base_sha, head_sha = check_refs(
        options.repo, options.base, options.head, options.allow_dirty
    )
    places = Places.of(options.manifest)
    # Every input is checked before the first run: a typo is exit 2, never a verdict.
    if options.pr_mode:
        claims: list[Claim] = []  # PR mode finds its claims in the worktrees
        pr_settings = DEFAULT_RUN.merged(options.manifest.run).merged(options.overrides)
        pr_python = pr_settings.python or options.python or sys.executable
        label, where = places.run_python_field(options.overrides)
        check_python(pr_python, label=label, where=where)
        test_paths = pr_settings.test_paths or ()
    else:
        claims = select_claims(options.manifest, options.only)
        check_claims(
            claims,
            places,
            overrides=options.overrides,
            python=options.python,
            default_python=sys.executable,
        )
        test_paths = options.manifest.settings_for(claims[0]).test_paths or () if claims else ()
    stages: dict[str, float] = {}
    results: list[ClaimResult] = []
    evidence: PrEvidence | None = None
    own_tests = claim_test_files([t for claim in claims for t in claim.tests])
    with (
        worktrees(root, base_sha, head_sha, test_paths=test_paths, claim_tests=own_tests) as (
            base_ws,
            head_ws,
        ),
        ExitStack() as owned,
    ):
        stages["checkout"] = time.monotonic() - started
        if options.pr_mode:
            t0 = time.monotonic()
            if pr_settings.setup:
                for ws in (base_ws, head_ws):
                    run_setup(ws, pr_settings.setup, dict(pr_settings.env or {}), timeout=900)
            evidence = discover(
                root,
                base_sha,
                head_sha,
                python=pr_python,
                settings=pr_settings,
                spaces=(base_ws, head_ws),
                reporter=reporter,
            )
            options = replace(options, manifest=pr_manifest(options.manifest, evidence))
            claims = list(options.manifest.claims)
            stages["discover"] = time.monotonic() - t0
        reuse = RunReuse(
            (options.store or cache_dir(root)) / "runs.sqlite3" if options.reuse else None,
            {
                "base": Inputs.at(
                    root, base_sha, overlay=base_ws.path, overlaid=base_ws.overlaid, named=own_tests
                ),
                "head": Inputs.at(root, head_sha, named=own_tests),
            },
        )
        owned.callback(reuse.close)
        jobs = [ClaimJob.build(options, claim, base_ws, head_ws, reuse) for claim in claims]
        t0 = time.monotonic()
        if not options.pr_mode:  # PR mode ran its setup and collected its tests already
            # Each distinct setup command runs once per worktree, with the env of a claim
            # using it.
            setups = {job.settings.setup: job.settings for job in jobs if job.settings.setup}
            for command, settings in sorted(setups.items()):
                for ws in (base_ws, head_ws):
                    run_setup(ws, command, dict(settings.env or {}), timeout=900)
            # One `pytest --collect-only` on the head (after setup: it may install plugins).
            check_node_ids(
                head_ws.path,
                [Collectable(job.claim, job.python, job.settings) for job in jobs],
                places,
                revision=f"the head ({head_sha[:8]})",
            )
        reporter.stage("reproduce", len(jobs))
        log.info("reproduce: %d claim(s) on %s and %s", len(jobs), base_sha[:8], head_sha[:8])
        # Claims with repeated runs first: the stage must not end on one claim's third run.
        by_runs = sorted(jobs, key=lambda job: -job.repeats)
        with ServerPool() as servers, ThreadPoolExecutor(max(1, options.workers)) as pool:
            forks = servers if options.fork else None
            list(pool.map(lambda job: job.run_sides(reporter, forks), by_runs))
        stages["reproduce+fixed"] = time.monotonic() - t0
        t0 = time.monotonic()
        eligible = [job for job in jobs if job.needs_mutation()]
        reporter.stage("mutate", len(eligible))
        log.info("mutate: %d claim(s) reproduced and fixed", len(eligible))
        if eligible and options.mutate:
            # Claims are mutated side by side, each with its share of the workers, so one
            # claim's serial phases (copies, baseline) overlap another's mutant runs.
            lanes = max(1, min(options.workers, len(eligible)))
            per_claim = max(1, options.workers // lanes)

            workdir = head_ws.path.parent
            # One set of worker copies and fork servers for every claim
            # (harness.mutation.copies), gone when the stage ends.
            with CopyPool(root, workdir) as copies:
                mutations = {
                    job.claim.id: claim_mutation.claim_options(
                        root, base_sha, head_sha, job, options, workdir, per_claim, copies
                    )
                    for job in eligible
                }

                # Every coverage map records every claim's fix files: the claims with the same
                # tests and settings (and so every claim's suite phase) measure one between them.
                fix_files = tuple(
                    sorted({f.path for m in mutations.values() for f in m.scope.files})
                )
                mutations = {k: replace(m, map_files=fix_files) for k, m in mutations.items()}

                def mutate_one(job: ClaimJob) -> None:
                    started_at = time.monotonic()
                    job.mutants, job.skipped, job.error = claim_mutation.mutate_claim(
                        mutations[job.claim.id], job, reporter
                    )
                    # The suite-kill phase is timed on its own ("suite"): stages add up to the claim.
                    job.timings["mutate"] = (
                        time.monotonic() - started_at - job.timings.get("suite", 0)
                    )

                # The costliest claims first (longest processing time first): the stage does not
                # end on one long claim started late while the other lane idles.
                costs = {
                    job.claim.id: claim_mutation.estimated_cost(mutations[job.claim.id], job)
                    for job in eligible
                }
                by_cost = sorted(eligible, key=lambda job: -costs[job.claim.id])
                with ThreadPoolExecutor(max_workers=lanes) as pool:
                    list(pool.map(mutate_one, by_cost))
        for job in jobs:
            results.append(job.finish(options.mutate))
            log.info("%s: %s: %s", job.claim.id, results[-1].verdict.value, results[-1].reason)
            reporter.claim_finished(results[-1])
        stages["mutate"] = time.monotonic() - t0
    excuse(results, options.manifest)
    files = {m.file for result in results for m in result.mutants}
    # With a manifest, only the claims this run verified can stand behind a finding.
    findings = review_findings(
        options,
        root,
        base_sha,
        head_sha,
        evidence or manifest_evidence(Manifest(claims=tuple(claims))),
    )
    return RunResult(
        run_id=options.run_id,
        repo=str(root),
        base=base_sha,
        head=head_sha,
        claims=results,
        started=started_at,
        duration=time.monotonic() - started,
        stages=stages,
        sources=head_sources(root, head_sha, files),
        pr=evidence,
        findings=findings,
    )


def review_findings(
    options: VerifyOptions, root: Path, base: str, head: str, evidence: PrEvidence
) -> list[FindingOutcome]:
    """The review's findings (`--review`), each matched to the claim that fixes it."""
    if not options.review:
        return []
    description = "\n".join([options.description, commit_messages(root, base, head)])
    return match_findings(options.review, evidence, description=description)


def commit_messages(repo: Path, base: str, head: str) -> str:
    """The messages of the commits base..head: a squashed PR's "✅ Fixed ..." lines live there."""
    return git(repo, "log", "--format=%B", f"{base}..{head}", check=False)


def head_sources(repo: Path, head: str, files: set[str]) -> dict[str, str]:
    """The head's text of each mutated file, for the mutation-testing-elements report."""
    sources: dict[str, str] = {}
    for file in sorted(files):
        text = show(repo, head, file)
        if text is not None:
            sources[file] = text
    return sources


def excuse(results: Sequence[ClaimResult], manifest: Manifest) -> None:
    """Record the policy's allowed exceptions on the claims they cover."""
    for result in results:
        exc = manifest.policy.excused(result.claim_id, result.verdict)
        result.excused = exc.reason if exc else None


def select_claims(manifest: Manifest, only: Sequence[str] | None) -> list[Claim]:
    if not manifest.claims:
        raise UserError("the manifest has no [[claims]]", hint="add one, or pass --tests")
    chosen = list(manifest.claims) if only is None else [manifest.claim(c) for c in only]
    drafts = [c.id for c in chosen if c.draft]
    if drafts:
        raise UserError(
            f"claims {', '.join(drafts)} are drafts (draft = true)",
            hint="confirm bug_class, add tests or a scenario, then delete draft = true",
        )
    return chosen
