"""Scout against the DataLoader peer and the naive loop on one GPU machine, side by side, plus the
fidelity checks: what ``run_all.sh`` runs.

    python -m benchmarks.device.compare [--folder DIR | --count 2400] [--model SPEC] [--smoke]
        [--only fidelity,peers,scout] [--workers 1,2,4,8,16] [--engines threads,processes]

Without ``--folder`` it makes ``--count`` synthetic 12 MP camera JPEGs (benchmarks.device.dataset).
Without ``--model`` it uses ViT-B-32 with its trained weights when they are on the machine, else
ViT-B-32 with random weights (same cost, meaningless vectors: the fidelity lines say so).
``--smoke`` is a small CPU-sized run (24 images of 640x480, workers 1,2) that checks everything
runs. Goals (issue #12): Scout >= 500 images/s inside the run and >= 5x the peer whole-process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.device import dataset
from benchmarks.device.index_throughput import Measured, sweep

CACHE = Path(os.environ.get("SCOUT_BENCH_CACHE", Path(tempfile.gettempdir()) / "scout-bench"))


def pick_model(workdir: Path) -> tuple[str, str]:
    """(spec, what it is): trained ViT-B-32 when its weights are here, else random ViT-B-32."""
    from benchmarks.index_throughput import model_spec
    from indexer.encoders import DEFAULT_CLIP_SPEC
    from indexer.encoders.openclip import resolve
    from indexer.errors import WeightsUnavailable
    from indexer.settings import EncoderOptions

    try:
        resolve(DEFAULT_CLIP_SPEC.removeprefix("open_clip:"), EncoderOptions())
        return DEFAULT_CLIP_SPEC, "ViT-B-32, trained weights"
    except WeightsUnavailable:
        return model_spec("vit-b-32", workdir), "ViT-B-32, RANDOM weights (trained ones are not on this machine)"


def timed(command: list[str]) -> tuple[float, dict]:
    """Wall seconds of a benchmark process and the JSON line it ends with."""
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {run.stderr[-2000:]}")
    *lines, last = run.stdout.strip().splitlines()
    for line in lines:
        print(line)
    return wall, json.loads(last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--peer-workers", type=int, default=16)
    parser.add_argument("--naive-limit", type=int, default=200, help="files the naive loop embeds (it is slow)")
    parser.add_argument("--engines", default="threads,processes")
    parser.add_argument("--workers", default="1,2,4,8,16")
    parser.add_argument("--only", default="fidelity,peers,scout")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:  # small defaults; options given on the command line still win
        parser.set_defaults(count=24, naive_limit=8, workers="1,2", peer_workers=2, batch_size=8)
        args = parser.parse_args()
    stages = set(args.only.split(","))

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
    print(f"machine: {os.cpu_count()} CPUs, {gpu}, torch {torch.__version__}")
    size = (640, 480) if args.smoke else (4000, 3000)
    folder = args.folder or dataset.make(CACHE / f"camera-{args.count}-{size[0]}x{size[1]}", args.count, size)
    files = len(list(folder.rglob("*.jpg")))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model, what = (args.model, args.model) if args.model else pick_model(workdir)
        print(f"dataset: {folder} ({files} JPEGs); model: {what}\n")
        python = sys.executable
        if "fidelity" in stages:
            print("== fidelity")
            timed([python, "-m", "benchmarks.device.fidelity", str(folder), "--model", model, "--device", args.device,
                   "--count", str(min(64, files))])
            print()
        peer = naive = None
        if "peers" in stages:
            print("== peers")
            wall, info = timed([python, "-m", "benchmarks.device.peer_dataloader", str(folder), "--model", model,
                                "--device", args.device, "--workers", str(args.peer_workers),
                                "--batch-size", str(args.batch_size), "--out", str(workdir / "peer.npy")])
            peer = info["images"] / wall
            print(f"DataLoader peer ({args.peer_workers} workers, batch {args.batch_size}, full-size PIL): "
                  f"whole process {peer:.1f} img/s ({wall:.1f} s), inside {info['images'] / info['inside_s']:.1f} img/s")
            wall, info = timed([python, "-m", "benchmarks.device.naive_loop", str(folder), "--model", model,
                                "--device", args.device, "--limit", str(args.naive_limit),
                                "--out", str(workdir / "naive.npy")])
            naive = info["images"] / wall
            print(f"naive serial loop ({info['images']} files): whole process {naive:.1f} img/s ({wall:.1f} s), "
                  f"inside {info['images'] / info['inside_s']:.1f} img/s\n")
        if "scout" in stages:
            print("== scout index")
            results = sweep(folder, model, args.device, args.batch_size, args.engines.split(","),
                            [int(w) for w in args.workers.split(",")], ["on", "off"], ["fp32", "bf16"], workdir)
            summarise(results, peer, naive)


def summarise(results: list[Measured], peer: float | None, naive: float | None) -> None:
    inside = max(results, key=lambda m: m.inside_rate)
    whole = max(results, key=lambda m: m.whole_rate)
    print(f"\nbest inside the run: {inside.inside_rate:.1f} img/s ({inside.config}); goal >= 500")
    print(f"best whole process: {whole.whole_rate:.1f} img/s ({whole.config})")
    if peer:
        print(f"scout / DataLoader peer, whole process: {whole.whole_rate / peer:.2f}x (goal >= 5x)")
    if naive:
        print(f"scout / naive loop, whole process: {whole.whole_rate / naive:.2f}x")


if __name__ == "__main__":
    main()
