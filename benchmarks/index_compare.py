"""``IndexRun`` throughput now against an earlier commit, alternating, on the same files.

    python -m benchmarks.index_compare --baseline-commit 1f1b49c [--model offline] [--rounds 3]

Why: a change to the index path must not cost a CPU-only machine anything, and on a shared 2-core
VM one run of each is not evidence (runs of the same code vary by ±20 % in wall time). This runs
the same child script in this tree and in ``git archive`` of the baseline, alternating, each a
fresh process that loads the model and then times only ``IndexRun(...).run`` into a new library
(start-up is measured by ``benchmarks.cli_startup``). It prints images/s (wall) and the child's CPU
seconds, which sharing inflates far less. Files: the ``camera`` dataset of
``benchmarks.index_throughput`` (``--count`` generated 12 MP JPEGs, cached).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.index_throughput import camera_dataset

REPO = Path(__file__).resolve().parent.parent
CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
encoder = load_encoder(sys.argv[1])
library = Library.create_or_open(Path(tempfile.mkdtemp()) / "lib")
wall, cpu = time.perf_counter(), time.process_time()
IndexRun(library, encoder).run([Path(sys.argv[2])])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))
"""


def one_run(tree: Path, model: str, folder: Path) -> dict:
    run = subprocess.run([sys.executable, "-c", CHILD, model, str(folder)], cwd=tree, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"run in {tree} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-commit", required=True)
    parser.add_argument("--model", default="offline", help="a model id both trees know (offline, open_clip:...)")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = camera_dataset(args.count)
    print(f"{args.count} camera JPEGs, model {args.model}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; {args.rounds} alternating rounds")
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.baseline_commit], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        trees = {"now": REPO, args.baseline_commit: old}
        results: dict[str, list[dict]] = {name: [] for name in trees}
        for number in range(args.rounds):
            for name, tree in trees.items():
                figure = one_run(tree, args.model, folder)
                results[name].append(figure)
                print(f"round {number + 1}  {name:>10}: {args.count / figure['wall']:6.2f} img/s  "
                      f"wall {figure['wall']:6.1f} s  cpu {figure['cpu']:6.1f} s", flush=True)
    rates = {name: statistics.median(args.count / r["wall"] for r in runs) for name, runs in results.items()}
    cpus = {name: statistics.median(r["cpu"] for r in runs) for name, runs in results.items()}
    base = args.baseline_commit
    print(f"\nmedian: now {rates['now']:.2f} img/s, {cpus['now']:.1f} CPU s; {base} {rates[base]:.2f} img/s, "
          f"{cpus[base]:.1f} CPU s; now/{base} = {rates['now'] / rates[base]:.2f}x images/s, "
          f"{cpus['now'] / cpus[base]:.2f}x CPU")


if __name__ == "__main__":
    main()
