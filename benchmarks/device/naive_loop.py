"""The naive serial loop: open each image at full size, preprocess, embed it alone.

    python -m benchmarks.device.naive_loop FOLDER --model SPEC [--device cuda] [--limit 200]

What a first script does; the floor the other two are compared with. Prints one JSON line like
peer_dataloader.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

T0 = time.perf_counter()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.device.peer_dataloader import image_files  # noqa: E402
from indexer.encoders import load_encoder  # noqa: E402
from indexer.settings import EncoderOptions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("naive-vectors.npy"))
    args = parser.parse_args()

    encoder = load_encoder(args.model, EncoderOptions(device=args.device, image_precision="fp32"))
    loaded = time.perf_counter()
    paths = image_files(args.folder, args.limit)
    vectors = []
    for path in paths:
        with Image.open(path) as image:
            vectors.append(encoder.encode_images(encoder.preprocess(image.convert("RGB"))[None]))
    np.save(args.out, np.concatenate(vectors))
    done = time.perf_counter()
    print(json.dumps({"name": "naive_loop", "images": len(paths), "inside_s": done - loaded, "load_s": loaded - T0}))


if __name__ == "__main__":
    main()
