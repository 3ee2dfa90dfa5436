"""What the Ray engine costs on one machine, and the per-worker rates its scaling model needs.

    python -m benchmarks.ray_overhead                      # 306 sample photos, offline model, 2 CPUs
    python -m benchmarks.ray_overhead --repeat 6 --model vit-b-32
    python -m benchmarks.ray_overhead --model vit-b-32 --device cuda --workers 16   # a GPU machine

Measured on the same files (``benchmarks.index_throughput``'s sample dataset: the sample photos
repeated as distinct files), each run into a fresh library:

  threads   ``scout index --engine threads`` as a whole process (imports, model, run, exit)
  ray       ``scout index --engine ray`` as a whole process (plus starting and stopping a local
            cluster of ``--workers`` CPUs, worker processes, the model loaded in the actor)

and then, inside one local cluster, the rates of each kind of worker, timed inside the worker:

  decode    files per second per CPU of the decode task (read, hash, decode, preprocess,
            thumbnail bytes: what one CPU of any node adds)
  embed     images per second per embedding actor (what one actor adds, on its CPUs or GPU)
  driver    items per second the driver commits (unpickle, thumbnail write, catalog, no model):
            the ceiling no number of nodes lifts, since the driver is the one writer
  start     ray.init and one actor's model load: the fixed cost of a run
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.index_throughput import model_spec, sample_dataset
from indexer.catalog import FileWrite
from indexer.encoders import load_encoder
from indexer.engines.ray_engine import FILES_PER_TASK, _Embedder, _prepare_batch
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.prepare import Prepared, Preparer
from indexer.settings import EncoderOptions, IndexSettings

REPO = Path(__file__).resolve().parent.parent


def whole_process(engine: str, folder: Path, library: Path, spec: str, workers: int, batch: int,
                  device: str) -> tuple[float, float]:
    """(wall seconds of the whole `scout index` process, seconds of the run inside it)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "api.cli", "index", str(folder), "--library", str(library), "--model", spec,
                    "--engine", engine, "--workers", str(workers), "--batch-size", str(batch), "--device", device],
                   check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "SCOUT_OCR": "off"})
    wall = time.perf_counter() - started
    opened = Library.open(library, readonly=True)
    try:
        return wall, opened.catalog.last_run()["stats"]["seconds"]
    finally:
        opened.close()


def worker_rates(files: list[Path], spec: str, workers: int, batch: int, device: str) -> dict[str, float]:
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    rates = {"ray_init_s": time.perf_counter() - started}
    try:
        options = EncoderOptions(device=device)
        encoder = load_encoder(spec, options)
        preparer = Preparer(encoder.image_transform(), None, IndexSettings(batch_size=batch), set())

        @ray.remote(num_cpus=1)
        def timed_decode(rows: dict, preparer: Preparer) -> tuple[dict, float]:
            began = time.perf_counter()
            out = _prepare_batch(rows, preparer)
            return out, time.perf_counter() - began

        @ray.remote(num_cpus=1, num_gpus=1 if encoder.device.startswith("cuda") else 0)
        class TimedEmbedder(_Embedder):
            def timed(self, batch: dict) -> tuple[dict, float]:
                began = time.perf_counter()
                out = self(batch)
                return out, time.perf_counter() - began

        chunks = [files[i:i + FILES_PER_TASK] for i in range(0, len(files), FILES_PER_TASK)]
        preparer_ref = ray.put(preparer)
        ray.get(timed_decode.remote(_rows(chunks[0]), preparer_ref))  # warm the workers' imports
        results = ray.get([timed_decode.remote(_rows(chunk), preparer_ref) for chunk in chunks])
        rates["decode_per_cpu"] = len(files) / sum(seconds for _, seconds in results)

        started = time.perf_counter()
        actor = TimedEmbedder.remote(encoder.model_id, options)
        ray.get(actor.__ray_ready__.remote())
        rates["actor_start_s"] = time.perf_counter() - started
        blobs = np.concatenate([out["item"] for out, _ in results])
        embedded, seconds = [], 0.0
        for i in range(0, len(blobs), batch):
            out, took = ray.get(actor.timed.remote({"item": blobs[i:i + batch]}))
            embedded.extend(out["item"])
            seconds += took
        rates["embed_per_actor"] = len(blobs) / seconds
        rates["driver_per_s"] = driver_rate([pickle.loads(blob) for blob in embedded], encoder)
    finally:
        ray.shutdown()
    return rates


def _rows(chunk: list[Path]) -> dict[str, np.ndarray]:
    return {"path": np.array([str(p) for p in chunk], dtype=object),
            "root": np.array([str(p.parent) for p in chunk], dtype=object),
            "size": np.array([p.stat().st_size for p in chunk]), "mtime_ns": np.array([p.stat().st_mtime_ns for p in chunk])}


class _Replay:
    """An engine that hands back items embedded before: what is left is the driver's own work."""

    name = "replay"

    def __init__(self, items: list[Prepared]):
        self.by_path = {item.file.path: item for item in items}

    def prepare(self, files, preparer, encoder):
        for file in files:
            item = self.by_path[file.path]
            yield Prepared(**{**item.__dict__, "file": FileWrite(file.path, file.root, file.size, file.mtime_ns)})

    def close(self) -> None:
        pass


def driver_rate(items: list[Prepared], encoder) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        library = Library.create_or_open(Path(tmp) / "lib")
        folder = Path(items[0].file.root)
        result = IndexRun(library, encoder, IndexSettings(), engine=_Replay(items)).run([folder])
        library.close()
        return result.stats.embedded / result.stats.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=17, help="sample dataset copies (18 photos each)")
    parser.add_argument("--model", choices=["offline", "vit-b-32"], default="offline")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu", help="cpu here; auto or cuda on a GPU machine")
    args = parser.parse_args()

    folder = sample_dataset(args.repeat)
    files = sorted(folder.iterdir())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        spec = model_spec(args.model, workdir)
        print(f"machine: {os.cpu_count()} CPUs; {len(files)} files ({sum(f.stat().st_size for f in files) / 1e6:.0f} MB); "
              f"model {args.model}; --workers {args.workers} --batch-size {args.batch_size}", flush=True)
        runs = {}
        for engine in ("threads", "ray"):
            wall, inside = whole_process(engine, folder, workdir / f"lib-{engine}", spec, args.workers,
                                         args.batch_size, args.device)
            runs[engine] = (wall, inside)
            print(f"{engine:8s} whole process {wall:6.1f} s = {len(files) / wall:5.1f} img/s; "
                  f"run inside it {inside:6.1f} s = {len(files) / inside:5.1f} img/s", flush=True)
        print(f"ray / threads: whole process {runs['ray'][0] / runs['threads'][0]:.2f}x the time, "
              f"run {runs['ray'][1] / runs['threads'][1]:.2f}x", flush=True)
        rates = worker_rates(files, spec, args.workers, args.batch_size, args.device)
        print(f"ray.init {rates['ray_init_s']:.1f} s; actor start (model load) {rates['actor_start_s']:.1f} s")
        print(f"decode task: {rates['decode_per_cpu']:.1f} files/s per CPU; embedding actor ({args.device}): "
              f"{rates['embed_per_actor']:.1f} img/s; driver (commit, no model): {rates['driver_per_s']:.0f} items/s")
        d, e, w = rates["decode_per_cpu"], rates["embed_per_actor"], rates["driver_per_s"]
        print(f"model: rate(N nodes x C CPUs, A actors) = min((N*C - A) * {d:.1f}, A * {e:.1f}, {w:.0f}) img/s")


if __name__ == "__main__":
    main()
