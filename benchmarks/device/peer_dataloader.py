"""The clip-retrieval-style peer: a PyTorch DataLoader decoding full-size images with PIL in worker
processes, batches of 256 through the same model, vectors saved to a .npy file.

    python -m benchmarks.device.peer_dataloader FOLDER --model SPEC [--device cuda] [--workers 16]

This is what most CLIP indexing tools do (clip-retrieval's ``clip_inference``): no reduced-size
decode, no content hash, no catalog, no thumbnails. Prints one JSON line: images, seconds from
the first batch requested to the last vector saved (``inside_s``), and the model load time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from indexer.encoders import load_encoder  # noqa: E402
from indexer.settings import EncoderOptions  # noqa: E402


class Files(torch.utils.data.Dataset):
    def __init__(self, paths: list[Path], transform):
        self.paths, self.transform = paths, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        with Image.open(self.paths[index]) as image:
            return self.transform(image.convert("RGB"))


def image_files(folder: Path, limit: int | None = None) -> list[Path]:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return paths[:limit] if limit else paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--precision", default="fp32", help="the image tower's: fp32 (as measured in issue #12) or bf16")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("peer-vectors.npy"))
    args = parser.parse_args()

    encoder = load_encoder(args.model, EncoderOptions(device=args.device, image_precision=args.precision))
    loaded = time.perf_counter()
    paths = image_files(args.folder, args.limit)
    loader = torch.utils.data.DataLoader(Files(paths, encoder.image_transform()), batch_size=args.batch_size,
                                         num_workers=args.workers, pin_memory=encoder.device.startswith("cuda"))
    vectors = [encoder.encode_images(batch) for batch in loader]
    np.save(args.out, np.concatenate(vectors))
    done = time.perf_counter()
    print(json.dumps({"name": "peer_dataloader", "images": len(paths), "inside_s": done - loaded,
                      "load_s": loaded - T0, "workers": args.workers, "batch_size": args.batch_size}))


if __name__ == "__main__":
    main()
