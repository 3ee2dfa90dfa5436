"""How faithful the GPU path's vectors are: bf16 (and TF32) against fp32, and the device decode
against the CPU decode, on the same files with the same model.

    python -m benchmarks.device.fidelity FOLDER --model SPEC [--device cuda] [--count 64]

Goal (issue #12): a cosine of at least 0.999 per image for ViT-B-32 with its trained weights.
Random weights (what the benchmarks fall back to without the weights) measure the arithmetic,
not what the goal means; the model line says which it was.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.device.peer_dataloader import image_files
from indexer.decode import decode_image
from indexer.device_decode import DeviceDecoder, inspect_jpeg
from indexer.encoders import load_encoder
from indexer.encoders.precision import vector_fidelity
from indexer.settings import EncoderOptions

MAX_PIXELS = 120_000_000


def precision_fidelity(model: str, device: str, images: list) -> dict[str, tuple[float, float]]:
    full = load_encoder(model, EncoderOptions(device=device, image_precision="fp32"))
    found = {}
    for precision in ("bf16", "tf32") if full.device.startswith("cuda") else ("bf16",):
        low = load_encoder(model, EncoderOptions(device=device, image_precision=precision))
        found[precision] = vector_fidelity(full, low, images)
    return found


def dispatch_fidelity(model: str, device: str, datas: list[bytes]) -> tuple[int, tuple[float, float]]:
    """(files the device took, (min, mean) cosine of their vectors to the CPU path's)."""
    encoder = load_encoder(model, EncoderOptions(device=device, image_precision="fp32"))
    decoder = DeviceDecoder.for_transform(encoder.image_transform(), encoder.device)
    if decoder is None:
        return 0, (float("nan"), float("nan"))
    routed = [(data, frame) for data in datas for frame in [inspect_jpeg(data, MAX_PIXELS)] if not isinstance(frame, str)]
    cosines = []
    for start in range(0, len(routed), 32):
        chunk = routed[start : start + 32]
        decoded = decoder.decode(chunk)
        pairs = [(data, d) for (data, _), d in zip(chunk, decoded) if d is not None]
        on_device = encoder.encode_images(torch.stack([d.tensor for _, d in pairs]))
        on_cpu = encoder.encode_images(torch.stack(
            [encoder.preprocess(decode_image(data, "x.jpg", max_pixels=MAX_PIXELS).image) for data, _ in pairs]))
        cosines.append(np.sum(on_device * on_cpu, axis=1))
    values = np.concatenate(cosines)
    return len(values), (float(values.min()), float(values.mean()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--count", type=int, default=64)
    args = parser.parse_args()
    paths = image_files(args.folder, args.count)
    datas = [p.read_bytes() for p in paths]
    images = [decode_image(d, str(p), max_pixels=MAX_PIXELS).image for d, p in zip(datas, paths)]
    result = {"model": args.model, "images": len(paths)}
    for precision, (low, mean) in precision_fidelity(args.model, args.device, images).items():
        print(f"{precision} vs fp32: min cosine {low:.5f}, mean {mean:.5f} over {len(images)} images (goal >= 0.999)")
        result[f"{precision}_vs_fp32"] = [low, mean]
    taken, (low, mean) = dispatch_fidelity(args.model, args.device, datas)
    print(f"device decode vs CPU path: {taken} of {len(datas)} files on the device, "
          f"min cosine {low:.5f}, mean {mean:.5f}")
    result["decode_vs_cpu"] = [low, mean]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
