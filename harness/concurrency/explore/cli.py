"""`python -m harness.concurrency.explore`: explore or replay a scenario named on the command line.

    python -m harness.concurrency.explore run tests/explore/explore_services.py:drain_buggy \
        --strategy "pct(depth=3)" --schedules 200
    python -m harness.concurrency.explore replay pkg.module:scenario "pct(depth=3, seed=7, steps=57)"

A target is `package.module:function` or `path/to/file.py:function` (a zero-argument async
function). Exit codes: 0 every schedule passed, 1 a schedule failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

from ...errors import HarnessError, UserError
from ...imports import import_module, walk
from ...outcomes import ExitCode
from .explorer import explore, replay


def load_target(target: str) -> Any:
    """Import `pkg.mod:func` or `path/file.py:func` and return the function."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise UserError(
            f"target={target!r} names no function",
            hint="write package.module:function or path/to/file.py:function",
        )
    if where.endswith(".py") or os.sep in where:
        path = os.path.abspath(where)
        if not os.path.exists(path):
            raise UserError(f"target={target!r}: {where} does not exist", hint="check the path")
        directory = os.path.dirname(path)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        module_name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UserError(f"target={target!r}: cannot import {where}", hint="name a .py file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = import_module(where, ref=target, field="target")
    return walk(module, name.split("."), ref=target, field="target")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness.concurrency.explore")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="explore a scenario under a strategy")
    run.add_argument("target")
    run.add_argument("--strategy", default="mixed()")
    run.add_argument("--schedules", type=int, default=200)
    run.add_argument("--early-timers", action="store_true", help="timers may fire mid-work")
    again = sub.add_parser("replay", help="rerun the one schedule a failure printed")
    again.add_argument("target")
    again.add_argument(
        "token", help="e.g. 'pct(depth=3, seed=7, steps=57)' or \"schedule('0*4.1')\""
    )
    again.add_argument("--times", type=int, default=1, help="replay this many times")
    again.add_argument("--early-timers", action="store_true", help="as the exploration had it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scenario = load_target(args.target)
        if args.command == "run":
            result = explore(
                scenario,
                args.strategy,
                args.schedules,
                target=args.target,
                early_timers=args.early_timers,
            )
            print(result.report())
            return int(ExitCode.OK if result.ok else ExitCode.POLICY_FAILURE)
        results = [
            replay(scenario, args.token, target=args.target, early_timers=args.early_timers)
            for _ in range(max(args.times, 1))
        ]
        signatures = {r.failure.signature() if r.failure else None for r in results}
        result = results[-1]
        print(result.report())
        if args.times > 1:
            print(f"replayed {args.times} times: {len(signatures)} distinct outcome(s)")
        return int(ExitCode.OK if result.ok else ExitCode.POLICY_FAILURE)
    except HarnessError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return int(error.exit_code)
