"""Scout's own indexing throughput on a GPU machine: whole process and inside the run, per
engine, decode workers, GPU decode and image precision.

    python -m benchmarks.device.index_throughput FOLDER --model SPEC --device cuda \
        [--engines threads,processes] [--workers 1,2,4,8,16] [--gpu-decode on,off] [--precision fp32,bf16]

Every configuration is a real ``scout index`` process into a fresh library (OCR off, the other
content passes on, as a user runs it), so "whole process" is what a user waits for: start-up,
imports, model load, the run, the content passes. "Inside the run" is the embedding phase from
the run's own record (its seconds minus the content passes'). Two sweeps:

  scaling   each engine x each worker count, CPU decode, fp32 (how the decode side scales)
  gpu path  gpu-decode x precision at the largest worker count (what the GPU path buys)

plus one unchanged re-run (start-up and change detection alone). Prints a table and one JSON
line per configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    engine: str = "threads"
    workers: int = 16
    gpu_decode: str = "off"
    precision: str = "fp32"


@dataclass
class Measured:
    config: Config
    files: int
    embedded: int
    on_device: int
    whole_s: float  # the process, start to exit
    run_s: float  # the run's record: scan to the end of the content passes
    passes_s: float  # the content passes inside it

    @property
    def whole_rate(self) -> float:
        return self.embedded / self.whole_s

    @property
    def inside_rate(self) -> float:
        return self.embedded / max(self.run_s - self.passes_s, 1e-9)


def scout_index(folder: Path, library: Path, model: str, device: str, batch_size: int, config: Config) -> Measured:
    """One ``scout index`` process; raises with its stderr when it fails."""
    command = [sys.executable, "-m", "api.cli", "index", str(folder), "--library", str(library), "--model", model,
               "--device", device, "--batch-size", str(batch_size), "--workers", str(config.workers),
               "--engine", config.engine, "--gpu-decode", config.gpu_decode, "--image-precision", config.precision]
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "SCOUT_OCR": "off"})
    whole = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"scout index failed ({run.returncode}): {run.stderr[-2000:]}")
    status = subprocess.run([sys.executable, "-m", "api.cli", "status", "--json", "--library", str(library)],
                            capture_output=True, text=True, check=True)
    stats = json.loads(status.stdout)["last_run"]["stats"]
    passes = sum(p["seconds"] for p in stats.get("passes", {}).values())
    return Measured(config, stats["found"], stats["embedded"], stats.get("on_device", 0), whole, stats["seconds"],
                    passes)


def sweep(folder: Path, model: str, device: str, batch_size: int, engines: list[str], workers: list[int],
          gpu_decode: list[str], precision: list[str], workdir: Path, report=print) -> list[Measured]:
    configs = [Config(engine, w, "off", "fp32") for engine in engines for w in workers]
    configs += [Config(engines[0], max(workers), gd, p) for gd in gpu_decode for p in precision
                if Config(engines[0], max(workers), gd, p) not in configs]
    results = []
    for i, config in enumerate(configs):
        measured = scout_index(folder, workdir / f"lib-{i}", model, device, batch_size, config)
        results.append(measured)
        report(describe(measured))
        print(json.dumps({**asdict(config), "embedded": measured.embedded, "on_device": measured.on_device,
                          "whole_s": round(measured.whole_s, 2), "inside_rate": round(measured.inside_rate, 1),
                          "whole_rate": round(measured.whole_rate, 1)}), file=sys.stderr)
    unchanged = scout_index(folder, workdir / "lib-0", model, device, batch_size, configs[0])
    report(f"unchanged re-run (start-up + change detection): {unchanged.whole_s:.1f} s whole process")
    return results


def describe(m: Measured) -> str:
    c = m.config
    return (f"{c.engine:9s} workers {c.workers:2d}  gpu-decode {c.gpu_decode:3s}  {c.precision:4s}  "
            f"{m.embedded:5d} embedded ({m.on_device} on device)  inside {m.inside_rate:7.1f} img/s  "
            f"whole process {m.whole_rate:7.1f} img/s ({m.whole_s:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--engines", default="threads,processes")
    parser.add_argument("--workers", default="1,2,4,8,16")
    parser.add_argument("--gpu-decode", default="on,off")
    parser.add_argument("--precision", default="fp32,bf16")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sweep(args.folder, args.model, args.device, args.batch_size, args.engines.split(","),
              [int(w) for w in args.workers.split(",")], args.gpu_decode.split(","), args.precision.split(","),
              Path(tmp))


if __name__ == "__main__":
    main()
