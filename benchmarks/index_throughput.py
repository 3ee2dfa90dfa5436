"""Indexing throughput: Scout's pipeline against a naive loop and the encoder-only ceiling.

    python -m benchmarks.index_throughput --dataset sample --model offline
    python -m benchmarks.index_throughput --dataset camera --count 200 --model vit-b-32

Datasets: ``sample`` is sample_assets/photos (small PNG/JPEG photos, repeated ``--repeat``
times as distinct files); ``camera`` is ``--count`` 12-megapixel JPEGs made from the sample
photos with random crops, flips and noise so every file differs (generated once, cached).

Models: ``offline`` (the built-in default) or ``vit-b-32`` (open_clip ViT-B-32 with random
weights: same architecture, same cost as trained weights, which cannot be downloaded here).

Measured in one process, on the same files:
  naive    open the full image, preprocess, encode one at a time (what simple CLIP tools do)
  ceiling  tensors decoded beforehand, encoded at the best batch size (no I/O, no decoding)
  scout    a cold `IndexRun` into a fresh library (read, hash, decode, thumbnail, encode, commit)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import IndexSettings

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("SCOUT_BENCH_CACHE", Path(tempfile.gettempdir()) / "scout-bench"))


def sample_dataset(repeat: int) -> Path:
    folder = CACHE / f"sample-x{repeat}"
    if folder.is_dir():
        return folder
    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for r in range(repeat):
        for photo in sorted((REPO / "sample_assets" / "photos").iterdir()):
            data = photo.read_bytes() + (b"\0" * r if r else b"")  # distinct bytes, same pixels
            (tmp / f"{r:02d}-{photo.name}").write_bytes(data)
    tmp.rename(folder)
    return folder


def camera_dataset(count: int) -> Path:
    """12 MP (4000x3000) JPEGs at camera quality, each a different crop/flip/noise of a sample."""
    folder = CACHE / f"camera-{count}"
    if folder.is_dir() and len(list(folder.iterdir())) == count:
        return folder
    tmp = folder.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sources = [Image.open(p).convert("RGB") for p in sorted((REPO / "sample_assets" / "photos").iterdir())]
    rng = np.random.default_rng(0)
    for i in range(count):
        src = sources[i % len(sources)]
        w, h = src.size
        cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
        x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
        image = src.crop((x, y, x + cw, y + ch)).resize((4000, 3000), Image.Resampling.BILINEAR)
        if i % 2:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        array = np.asarray(image, dtype=np.int16)
        noise = rng.integers(-12, 13, size=(3000, 4000, 1), dtype=np.int16)
        image = Image.fromarray(np.clip(array + noise, 0, 255).astype(np.uint8))
        image.save(tmp / f"camera-{i:04d}.jpg", "JPEG", quality=92)
    tmp.rename(folder)
    return folder


def model_spec(name: str, workdir: Path) -> str:
    if name == "offline":
        return "offline"
    if name == "vit-b-32":
        import open_clip

        folder = workdir / "vit-b-32-random"
        folder.mkdir(exist_ok=True)
        config = open_clip.get_model_config("ViT-B-32")
        (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": config}))
        torch.save(open_clip.create_model("ViT-B-32", pretrained=None).state_dict(),
                   folder / "open_clip_pytorch_model.bin")
        return f"open_clip:local-dir:{folder}"
    raise SystemExit(f"unknown model {name}")


def naive(encoder, files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        image = Image.open(path).convert("RGB")
        encoder.encode_images(encoder.preprocess(image)[None])
    return len(files) / (time.perf_counter() - started)


def ceiling(encoder, files: list[Path], batch_sizes=(8, 16, 32, 64)) -> tuple[float, int]:
    """Encoder-only: preprocessed tensors in memory, best batch size of those tried."""
    from indexer.decode import decode_image

    tensors = [encoder.preprocess(decode_image(p.read_bytes(), str(p), max_pixels=10**9).image) for p in files]
    best = (0.0, 0)
    for size in batch_sizes:
        encoder.encode_images(torch.stack(tensors[:size]))  # warm-up
        started = time.perf_counter()
        for i in range(0, len(tensors), size):
            encoder.encode_images(torch.stack(tensors[i : i + size]))
        rate = len(tensors) / (time.perf_counter() - started)
        best = max(best, (rate, size))
    return best


def scout(encoder, folder: Path, workdir: Path, settings: IndexSettings) -> float:
    library = Library.create_or_open(workdir / f"lib-{time.monotonic_ns()}")
    result = IndexRun(library, encoder, settings).run([folder])
    assert result.stats.failed == 0, result.stats
    return (result.stats.embedded + result.stats.reused) / result.stats.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["sample", "camera"], default="sample")
    parser.add_argument("--count", type=int, default=200, help="camera dataset size")
    parser.add_argument("--repeat", type=int, default=6, help="sample dataset copies")
    parser.add_argument("--model", choices=["offline", "vit-b-32"], default="offline")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive-limit", type=int, default=60, help="files the naive loop times")
    parser.add_argument("--sweep", action="store_true",
                        help="also time scout index for decode workers 1-3 x batch 16/32")
    args = parser.parse_args()

    folder = sample_dataset(args.repeat) if args.dataset == "sample" else camera_dataset(args.count)
    files = sorted(folder.iterdir())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        encoder = load_encoder(model_spec(args.model, workdir))
        print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads")
        print(f"dataset: {args.dataset}, {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.0f} MB")
        print(f"model: {args.model} ({encoder.model_id[:70]})")
        naive_rate = naive(encoder, files[: args.naive_limit])
        ceiling_rate, best_batch = ceiling(encoder, files[: max(128, args.batch_size * 2)])
        settings = IndexSettings(batch_size=args.batch_size, decode_workers=args.workers)
        scout_rate = scout(encoder, folder, workdir, settings)
        print(f"{'naive serial loop':28s} {naive_rate:8.1f} img/s")
        print(f"{'encoder-only ceiling':28s} {ceiling_rate:8.1f} img/s (batch {best_batch})")
        print(f"{'scout index':28s} {scout_rate:8.1f} img/s")
        print(f"scout / naive = {scout_rate / naive_rate:.2f}x; scout / ceiling = {scout_rate / ceiling_rate:.0%}")
        if args.sweep:
            for workers in (1, 2, 3):
                for batch in (16, 32):
                    rate = scout(encoder, folder, workdir, IndexSettings(batch_size=batch, decode_workers=workers))
                    print(f"  sweep: workers {workers}, batch {batch:2d}: {rate:5.1f} img/s "
                          f"({rate / naive_rate:.2f}x naive, {rate / ceiling_rate:.0%} of ceiling)", flush=True)


if __name__ == "__main__":
    main()
