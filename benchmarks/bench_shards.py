"""The sample gate on one shard against two shards in parallel on this machine, plus the merge.

    python benchmarks/bench_shards.py               # every claim of the sample (slow)
    python benchmarks/bench_shards.py --claims 6    # the first 6 claims only

Baseline in the same run: the unsharded gate. Each configuration gets a cold cache, so no shard
reuses another's finished mutants. Prints wall times and the ratio unsharded / sharded.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from harness.sample import materialise


def gate(repo: Path, base: str, out: Path, cache: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FIXGUARD_CACHE_DIR": str(cache)}
    out.mkdir(parents=True, exist_ok=True)
    log = (out.parent / f"{out.name}.log").open("wb")
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "gate",
        "--repo",
        str(repo),
        "--base",
        base,
        "--all",
        "--out",
        str(out),
        "--workers",
        "1",
        *extra,
    ]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=0, help="keep only the first N claims")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo = materialise(tmp / "shop")
        manifest = repo.manifest
        if args.claims:
            data = tomllib.loads(manifest.read_text())
            keep = {c["id"] for c in data["claims"][: args.claims]}
            text = manifest.read_text()
            manifest = tmp / "subset.toml"
            # Keep the policy and targets; drop claims past N by rewriting the claim list.
            blocks = text.split("[[claims]]")
            kept = [b for b in blocks[1:] if any(f'id = "{k}"' in b for k in keep)]
            # The policy's exceptions must name kept claims: drop the exception tables.
            head = blocks[0].split("[[policy.exceptions]]")[0]
            targets = blocks[0][blocks[0].find("[targets.") :] if "[targets." in blocks[0] else ""
            manifest.write_text(head + "\n" + targets + "".join("[[claims]]" + b for b in kept))
        extra = ("--manifest", str(manifest))

        t0 = time.monotonic()
        gate(repo.path, repo.base, tmp / "whole", tmp / "cache-whole", *extra).wait()
        whole = time.monotonic() - t0

        t0 = time.monotonic()
        procs = [
            gate(
                repo.path,
                repo.base,
                tmp / f"shard{k}",
                tmp / f"cache-{k}",
                *extra,
                "--shard",
                f"{k}/2",
            )
            for k in range(2)
        ]
        for proc in procs:
            proc.wait()
        sharded = time.monotonic() - t0

        t0 = time.monotonic()
        merge = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "merge",
                str(tmp / "shard0"),
                str(tmp / "shard1"),
                "--out",
                str(tmp / "merged"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        merge_seconds = time.monotonic() - t0
        same = (tmp / "merged" / "results.json").exists()
        if merge.returncode == 2:
            for k in range(2):
                tail = (tmp / f"shard{k}.log").read_text(errors="replace").splitlines()[-5:]
                print(f"shard {k} log tail:", *tail, sep="\n  ")
    label = f"{args.claims} claims" if args.claims else "all claims"
    print(f"sample gate ({label}), 2 cores")
    print(f"  1 shard            {whole:7.1f}s")
    print(f"  2 shards parallel  {sharded:7.1f}s")
    print(
        f"  merge              {merge_seconds:7.2f}s (exit {merge.returncode}, merged report written: {same})"
    )
    print(
        f"ratio 1-shard / 2-shards: {whole / sharded:.2f}  (merge overhead {merge_seconds / sharded:.1%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
