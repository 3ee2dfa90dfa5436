"""``diffusers``: any diffusers text-to-image pipeline from a local model folder.

Stable Diffusion 1.x/2.x, SDXL, the SD3 family, Flux...: whatever ``DiffusionPipeline`` loads
from a folder holding ``model_index.json``. Weights are read with ``local_files_only=True``, so a
missing or incomplete folder is a clear :class:`WeightsUnavailable`, never a download (nor a
process-wide ``HF_HUB_OFFLINE``). Image ``i`` of a request is drawn from its own CPU generator
seeded ``seed + i``, so each image can be reproduced alone from its recorded provenance, on any
device.
"""

from __future__ import annotations

import inspect
import logging
import math
import secrets
import threading
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoPipelineForText2Image, DiffusionPipeline

from generation.generate.base import GeneratedImage, GenerationRequest, GeneratorOptions
from indexer.encoders.base import resolve_device
from indexer.errors import ComponentUnavailable, ConfigError, WeightsUnavailable
from indexer.generated import Provenance
from indexer.settings import EncoderOptions

log = logging.getLogger(__name__)

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Parameters that mean "this pipeline transforms an image", not "draws from text".
_IMAGE_INPUTS = {"image", "mask_image", "control_image", "strength"}
_HINT_FOLDER = ("Point --generator diffusers:FOLDER at a folder holding model_index.json, unet/ (or "
                "transformer/), vae/, text_encoder/... e.g. fetched once on a networked machine with "
                "`hf download stable-diffusion-v1-5/stable-diffusion-v1-5 --local-dir FOLDER`.")


class DiffusersGenerator:
    name = "diffusers"

    def __init__(self, pipe: Any, folder: Path, device: str, dtype: torch.dtype, native_size: bool):
        self.pipe = pipe
        self.folder = folder
        self.device = device
        self.dtype = dtype
        self.native_size = native_size
        self.model_id = folder.name
        self._parameters = inspect.signature(pipe.__call__).parameters
        self._lock = threading.Lock()  # a pipeline holds per-call state: one generation at a time
        pipe.set_progress_bar_config(disable=True)

    def generate(self, request: GenerationRequest) -> list[GeneratedImage]:
        width, height = self.size_for(request.width, request.height)
        first_seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        seeds = [first_seed + i for i in range(request.n)]
        steps = request.steps if request.steps is not None else self._default("num_inference_steps")
        guidance = request.guidance if request.guidance is not None else self._default("guidance_scale")
        call: dict[str, Any] = {
            "prompt": request.prompt, "num_images_per_prompt": request.n, "height": height, "width": width,
            "generator": [torch.Generator("cpu").manual_seed(s) for s in seeds], "output_type": "pil",
        }
        extra: dict[str, Any] = {"pipeline": type(self.pipe).__name__, "device": self.device,
                                 "dtype": str(self.dtype).removeprefix("torch."),
                                 "requested_size": f"{request.width}x{request.height}"}
        for name, value in (("num_inference_steps", steps), ("guidance_scale", guidance)):
            if value is not None and name in self._parameters:
                call[name] = value
        if request.negative_prompt:
            if "negative_prompt" in self._parameters:
                call["negative_prompt"] = request.negative_prompt
            else:
                extra["negative_prompt_ignored"] = True  # e.g. Flux takes none
        with self._lock, torch.inference_mode():
            output = self.pipe(**call)
        flagged = getattr(output, "nsfw_content_detected", None) or [False] * len(output.images)
        images = []
        for image, seed, unsafe in zip(output.images, seeds, flagged):
            if unsafe:  # the model's own safety checker blanked it: a black square is no candidate
                log.warning("%s: image with seed %d withheld by the pipeline's safety checker", self.model_id, seed)
                continue
            provenance = Provenance(
                prompt=request.prompt, negative_prompt=request.negative_prompt, seed=seed, steps=steps,
                guidance=guidance, width=image.width, height=image.height, model=self.model_id,
                generator=self.name, extra=extra,
            )
            images.append(GeneratedImage(image.convert("RGB"), provenance))
        return images

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """The size to draw: the request's aspect at the model's own pixel count (when
        ``native_size``), in multiples the VAE and the transformer's patches divide."""
        scale = int(getattr(self.pipe, "vae_scale_factor", 8) or 8)
        multiple = max(8, 2 * scale)  # SD checks for 8; SD3 / Flux latents are cut in 2x2 patches
        native = self._native_side(scale)
        if self.native_size and native:
            factor = math.sqrt(native * native / (width * height))
            width, height = width * factor, height * factor
        return (max(multiple, round(width / multiple) * multiple), max(multiple, round(height / multiple) * multiple))

    def _native_side(self, scale: int) -> int | None:
        sample = getattr(self.pipe, "default_sample_size", None)
        if sample is None:
            unet = getattr(self.pipe, "unet", None)
            sample = getattr(getattr(unet, "config", None), "sample_size", None)
        return int(sample) * scale if isinstance(sample, int) else None

    def _default(self, name: str) -> Any:
        parameter = self._parameters.get(name)
        if parameter is None or parameter.default is inspect.Parameter.empty:
            return None
        return parameter.default


def load(args: str, options: GeneratorOptions) -> DiffusersGenerator:
    if not args.strip():
        raise ConfigError("The diffusers generator needs a model folder.",
                          hint="e.g. --generator diffusers:/models/stable-diffusion-v1-5")
    folder = Path(args.strip()).expanduser().resolve()
    if not folder.is_dir():
        raise WeightsUnavailable(f"No diffusers model folder at {folder}.", hint=_HINT_FOLDER)
    if not (folder / "model_index.json").is_file():
        raise WeightsUnavailable(f"{folder} is not a diffusers pipeline folder (it has no model_index.json).",
                                 hint=_HINT_FOLDER)
    device = resolve_device(EncoderOptions(device=options.device))
    dtype = _dtype(options.dtype, device)
    try:
        pipe = DiffusionPipeline.from_pretrained(folder, local_files_only=True, dtype=dtype)
    except Exception as exc:  # incomplete folders fail in many ways (OSError, ValueError, KeyError...)
        raise WeightsUnavailable(
            f"The diffusers pipeline in {folder} could not be loaded: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]}",
            hint="The folder may be incomplete (a missing weights file or component); fetch it again. "
            + _HINT_FOLDER,
        ) from None
    pipe = _text_to_image(pipe, folder)
    return DiffusersGenerator(pipe.to(device), folder, device, dtype, options.native_size)


def _text_to_image(pipe: Any, folder: Path) -> Any:
    """The pipeline itself when it draws from text; its text-to-image sibling (same weights) when
    the folder was saved as, say, img2img; otherwise a clear refusal."""
    parameters = inspect.signature(pipe.__call__).parameters
    if "prompt" in parameters and not _IMAGE_INPUTS & set(parameters):
        return pipe
    try:
        return AutoPipelineForText2Image.from_pipe(pipe)
    except Exception:
        raise ComponentUnavailable(
            f"{folder} holds a {type(pipe).__name__}, which is not a text-to-image pipeline.",
            hint="Use a text-to-image model folder (Stable Diffusion, SDXL, SD3, Flux...).",
        ) from None


def _dtype(name: str, device: str) -> torch.dtype:
    if name == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    if name == "fp16" and device == "cpu":
        raise ConfigError("fp16 generation needs a CUDA GPU.", hint="Use --dtype fp32 (or bf16) on CPU.")
    return _DTYPES[name]
