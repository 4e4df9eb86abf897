"""Run the benchmarks (`nox -s bench`). Each prints a ratio against a baseline from the same run.

python benchmarks/run_all.py                 # every bench_*.py
python benchmarks/run_all.py races mutation  # only bench_races.py and bench_mutation.py
python benchmarks/run_all.py --stability     # also the 50-run stability_*.py scripts (slow)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    stability = "--stability" in argv
    names = [a for a in argv if not a.startswith("--")]
    scripts = sorted(HERE.glob("bench_*.py"))
    if stability:
        scripts += sorted(HERE.glob("stability_*.py"))
    if names:
        scripts = [s for s in scripts if any(s.stem.endswith(n) or s.stem == n for n in names)]
    if not scripts:
        print(f"no benchmark matches {names}", file=sys.stderr)
        return 2
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        t0 = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"=== {script.name}: exit {code} in {time.monotonic() - t0:.1f}s ===", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
