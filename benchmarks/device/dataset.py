"""Synthetic camera JPEGs for the GPU benchmarks: 12 MP, quality 92, sensor-like noise, EXIF.

Each file is a different random crop of a sample photo, scaled to the camera's size, with noise
(so every file hashes and compresses differently), saved as a baseline JPEG the way cameras save
them; one in four is a portrait shot stored landscape with EXIF orientation 6. Made in parallel
with one process per core and kept in a folder, so later runs reuse it.

    python -m benchmarks.device.dataset /tmp/camera-2400 --count 2400 [--size 4000x3000]
"""

from __future__ import annotations

import argparse
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[2] / "sample_assets" / "photos"


def _one(job: tuple[Path, int, tuple[int, int]]) -> None:
    folder, index, (width, height) = job
    rng = np.random.default_rng(index)
    sources = sorted(SAMPLES.iterdir())
    source = Image.open(sources[index % len(sources)]).convert("RGB")
    w, h = source.size
    cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    image = source.crop((x, y, x + cw, y + ch)).resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.int16)
    noise = rng.integers(-10, 11, size=(height, width, 1), dtype=np.int16)
    image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Scout", "Synthetic 12MP"
    if index % 4 == 3:
        exif[0x0112] = 6
    image.save(folder / f"DSC_{index:05d}.jpg", "JPEG", quality=92, exif=exif.tobytes())


def make(folder: Path, count: int, size: tuple[int, int] = (4000, 3000)) -> Path:
    """``folder`` holding ``count`` camera JPEGs (made once; an existing complete folder is kept)."""
    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == count:
        return folder
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(_one, [(tmp, i, size) for i in range(count)], chunksize=8))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--size", type=parse_size, default=(4000, 3000))
    args = parser.parse_args()
    folder = make(args.folder, args.count, args.size)
    files = list(folder.glob("*.jpg"))
    print(f"{folder}: {len(files)} JPEGs, {sum(f.stat().st_size for f in files) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
