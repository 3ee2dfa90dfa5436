"""Whole-process wall and CPU time of the ``scout`` command line, next to baselines from the same run.

    python -m benchmarks.cli_startup [--runs 5] [--baseline-commit REV] [--large-library PATH [--only-large]]

Each command is a fresh ``python -m api.cli ...`` process, run ``--runs`` times after one
warm-up (so the page cache holds the files); the figures are the median and the best run, wall
and CPU (user + sys of the child, which a busy machine inflates far less than wall time).
Baselines measured in the same run:

- ``python -c pass`` and ``python -c "import torch"``: the floor any command that embeds a query
  pays on this machine (the query encoder is a torch model).
- the same commands at ``--baseline-commit`` (default: the commit before the lazy start-up work),
  extracted with ``git archive`` into a temp dir and run from there with a library indexed by
  that version (a library from a newer Scout is refused by an older one).

``scout index`` start-up is measured as a whole ``scout index`` of a folder holding one small
image into a fresh library: start-up plus one embedded image (the first image embedded is
what the start-up delays), with and without the OCR pass (which runs after the embedding). An
unchanged re-run of a library embedded with open_clip (a tiny CLIP the run saves) shows what a
run that embeds nothing pays for its model.

``--large-library`` also times ``scout search "a cat"`` on a big library (e.g. the 1 M-vector
synthetic one ``benchmarks.query_latency --sizes 1000000`` caches under ``$TMPDIR/scout-bench``):
what opening its FAISS snapshot and drawing the calibration sample add to a one-query process.
``--only-large`` skips everything else.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO / "sample_assets" / "photos"
DEFAULT_BASELINE = "59154d0"


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """(wall, cpu) seconds of one child process; fails loudly if the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(label: str, cmd: list[str], cwd: Path, env: dict, runs: int, fresh=None) -> None:
    """Print median and best wall/CPU of ``runs`` runs; ``fresh`` prepares each run (e.g. an empty library)."""
    if fresh:
        fresh()
    timed(cmd, cwd, env)  # warm-up: files into the page cache, caches written
    figures = []
    for _ in range(runs):
        if fresh:
            fresh()
        figures.append(timed(cmd, cwd, env))
    walls, cpus = zip(*figures)
    print(f"{label:52s} wall {statistics.median(walls):6.2f} s (best {min(walls):5.2f})   "
          f"cpu {statistics.median(cpus):6.2f} s (best {min(cpus):5.2f})", flush=True)


def scout_commands(tree: Path, library: Path, one_image: Path, scratch: Path, env: dict, runs: int,
                   label: str, clip_library: Path) -> None:
    py = sys.executable
    cli = [py, "-m", "api.cli"]
    measure(f"{label} scout --help", [*cli, "--help"], tree, env, runs)
    measure(f'{label} scout search "a cat"', [*cli, "search", "a cat", "--library", str(library)], tree, env, runs)
    measure(f"{label} scout search --like 1 (an asset id)",
            [*cli, "search", "--like", "1", "--library", str(library)], tree, env, runs)

    def empty_library() -> None:
        shutil.rmtree(scratch, ignore_errors=True)

    measure(f"{label} scout index (1 image, fresh library)",
            [*cli, "index", str(one_image), "--library", str(scratch), "--model", "offline"],
            tree, env, runs, fresh=empty_library)
    # Without the OCR pass, which runs after the image is embedded: start-up + the one embedding.
    measure(f"{label} scout index --no-ocr (1 image, fresh)",
            [*cli, "index", str(one_image), "--library", str(scratch), "--model", "offline", "--no-ocr"],
            tree, env, runs, fresh=empty_library)
    # Nothing to embed: what a re-run of an open_clip library costs (a tiny CLIP: the weights of a
    # real one would add their loading time to every run that loads them).
    measure(f"{label} scout index, unchanged (open_clip library)",
            [*cli, "index", str(PHOTOS), "--library", str(clip_library), "--no-ocr"], tree, env, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-commit", default=DEFAULT_BASELINE,
                        help="Git revision to compare with ('' skips it).")
    parser.add_argument("--large-library", type=Path, help="also time a search of this (large) library")
    parser.add_argument("--only-large", action="store_true", help="time only the search of --large-library")
    args = parser.parse_args()
    if args.only_large and not args.large_library:
        parser.error("--only-large needs --large-library")
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("SCOUT_LIBRARY", None)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    print(f"{args.runs} runs each after one warm-up; median (best)\n")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        one = work / "one"
        one.mkdir()
        shutil.copy(PHOTOS / "tabby-cat-chelsea.png", one / "cat.png")
        py = sys.executable
        import tests.conftest as fixtures  # the tiny CLIP the tests build

        tiny_clip = f"open_clip:local-dir:{fixtures.save_tiny_clip(work / 'tiny-clip')}"
        if not args.only_large:
            measure("baseline: python -c pass", [py, "-c", "pass"], REPO, env, args.runs)
            measure('baseline: python -c "import torch"', [py, "-c", "import torch"], REPO, env, args.runs)
            measure('baseline: python -c "import open_clip"', [py, "-c", "import open_clip"], REPO, env, args.runs)
        trees = [("now:", REPO)]
        if args.baseline_commit:
            old = work / "old"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.baseline_commit], cwd=REPO, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
            trees.append((f"{args.baseline_commit}:", old))
        for label, tree in trees:
            if args.large_library:
                measure(f'{label} scout search "a cat" (large library)',
                        [py, "-m", "api.cli", "search", "a cat", "--library", str(args.large_library)], tree, env,
                        args.runs)
            if args.only_large:
                continue
            library = work / f"lib-{tree.name}"
            timed([py, "-m", "api.cli", "index", str(PHOTOS), "--library", str(library), "--model", "offline"],
                  tree, env)
            clip_library = work / f"clip-{tree.name}"
            timed([py, "-m", "api.cli", "index", str(PHOTOS), "--library", str(clip_library), "--model", tiny_clip,
                   "--no-ocr"], tree, env)
            scout_commands(tree, library, one, work / f"scratch-{tree.name}", env, args.runs, label, clip_library)


if __name__ == "__main__":
    main()
