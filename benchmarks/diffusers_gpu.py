"""Seconds per image of the ``diffusers`` generator on a standard-size Stable Diffusion 1.5.

    python -m benchmarks.diffusers_gpu                      # CUDA when present, else a reduced CPU run
    python -m benchmarks.diffusers_gpu --size 512 --steps 25 --images 4 --device cuda

The pipeline has SD 1.5's exact architecture (UNet 860 M parameters, the VAE, the ViT-L/14 text
encoder, CLIP's real 49 408-token vocabulary taken from open_clip's BPE file) with *random*
weights: the cost of a denoising step does not depend on what the weights hold, and no weights can
be downloaded here. It is saved as a model folder and loaded back through Scout's backend
(``load_generator("diffusers:FOLDER")``), the path a user takes.

Baseline, same run, same pipeline object: diffusers called directly (no Scout wrapper), so the
ratio shows what Scout's request handling, per-image seeding and provenance cost. Each figure is the
median of ``--repeats`` timed calls after one warm-up call.

Without CUDA it says so and measures a reduced figure (256x256, 4 steps by default): a 2-core CPU
needs minutes per full-size image.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8,
)
SD15_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512,
)
VIT_L14_TEXT = dict(
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
    max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
)
PROMPT = "whitewashed village above a deep blue sea at golden hour, travel photography"
NEGATIVE = "text, watermark, people"


def write_clip_tokenizer(folder: Path) -> Path:
    """CLIP's own BPE vocabulary (shipped with open_clip) as vocab.json + merges.txt."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe

    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    alphabet = list(bytes_to_unicode().values())
    vocab = alphabet + [c + "</w>" for c in alphabet] + ["".join(m.split()) for m in lines]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(lines) + "\n")
    return folder


def save_sd15_random(folder: Path) -> Path:
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab = write_clip_tokenizer(folder.parent / "clip-vocab")
    torch.manual_seed(0)
    pipe = StableDiffusionPipeline(
        unet=UNet2DConditionModel(**SD15_UNET), vae=AutoencoderKL(**SD15_VAE),
        text_encoder=CLIPTextModel(CLIPTextConfig(**VIT_L14_TEXT)),
        tokenizer=CLIPTokenizer(str(vocab / "vocab.json"), str(vocab / "merges.txt"), model_max_length=77),
        scheduler=PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                skip_prk_steps=True, steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder


def timed(call, repeats: int, device: str) -> float:
    def once() -> float:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        call()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - started

    once()  # warm-up: kernels, allocator, cuDNN autotuning
    return statistics.median(once() for _ in range(repeats))


def main() -> None:
    from generation.generate import GenerationRequest, GeneratorOptions, load_generator

    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if cuda else "cpu")
    parser.add_argument("--size", type=int, default=512 if cuda else 256)
    parser.add_argument("--steps", type=int, default=25 if cuda else 4)
    parser.add_argument("--images", type=int, default=4 if cuda else 1, help="images per request")
    parser.add_argument("--repeats", type=int, default=3 if cuda else 1)
    parser.add_argument("--dtype", default="auto", help="auto (fp16 on CUDA, fp32 on CPU), fp32, fp16, bf16")
    args = parser.parse_args()
    if not cuda:
        print("No CUDA GPU here: measuring a REDUCED figure on the CPU "
              f"({args.size}x{args.size}, {args.steps} steps); the target figure needs a GPU.")
    if cuda:
        print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        folder = save_sd15_random(Path(tmp) / "sd15-random")
        print(f"built and saved a random SD 1.5 in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        generator = load_generator(f"diffusers:{folder}", GeneratorOptions(device=args.device, dtype=args.dtype,
                                                                           native_size=False))
        print(f"loaded through Scout's backend in {time.perf_counter() - started:.1f} s "
              f"({generator.device}, {generator.dtype})")

        request = GenerationRequest(prompt=PROMPT, negative_prompt=NEGATIVE, n=args.images, width=args.size,
                                    height=args.size, seed=1, steps=args.steps, guidance=7.5)
        scout_s = timed(lambda: generator.generate(request), args.repeats, generator.device)

        def raw() -> None:
            seeds = [torch.Generator("cpu").manual_seed(1 + i) for i in range(args.images)]
            with torch.inference_mode():
                generator.pipe(prompt=PROMPT, negative_prompt=NEGATIVE, num_images_per_prompt=args.images,
                               height=args.size, width=args.size, num_inference_steps=args.steps,
                               guidance_scale=7.5, generator=seeds)

        raw_s = timed(raw, args.repeats, generator.device)

    per_scout, per_raw = scout_s / args.images, raw_s / args.images
    print(f"\n{args.images} image(s) per request, {args.size}x{args.size}, {args.steps} steps, "
          f"median of {args.repeats}:")
    print(f"  Scout diffusers backend   {per_scout:7.2f} s/image  ({args.steps / per_scout:6.2f} steps/s per image)")
    print(f"  diffusers called directly {per_raw:7.2f} s/image  (baseline)")
    print(f"  Scout / direct            {per_scout / per_raw:7.3f}x")


if __name__ == "__main__":
    main()
