"""open_clip backend: the production path (CLIP-family models in one text-image space).

Weights are resolved *before* open_clip is asked to build anything, because open_clip's own
fallbacks are unkind offline: a missing ``hf-hub:`` checkpoint only logs a warning and returns a
randomly initialised model, and a missing tag tries the network and hangs on retries. Here a
missing file fails at once with a message that says where Scout looked and how to provide it.
Downloads happen only when asked for (``EncoderOptions.allow_download``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from indexer.encoders.base import apply_threads, faster_text_tower, normalize, resolve_device
from indexer.encoders.precision import image_precision_context, resolve_image_precision
from indexer.errors import ConfigError, EncoderUnavailable, WeightsUnavailable
from indexer.settings import EncoderOptions

CHECKPOINT_NAMES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
    "model.safetensors",
    "pytorch_model.bin",
)


def _hf_cache_dir(options: EncoderOptions) -> str | None:
    return str(options.cache_dir) if options.cache_dir else None


def _cached_hf_file(repo_id: str, filenames: list[str], cache_dir: str | None) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def _missing(what: str, model: str, looked: str) -> WeightsUnavailable:
    return WeightsUnavailable(
        f"Weights for {what} are not on this machine (looked in {looked}) and downloading is "
        "off, so the model cannot load.",
        hint=(
            "Provide them in one of these ways: (1) on a machine with internet run "
            f"`scout index --allow-download --model {model} ...` once (or `huggingface-cli "
            "download <repo>`), then copy the Hugging Face cache (~/.cache/huggingface/hub, or "
            "$HF_HOME/hub) here; keep HF_HUB_OFFLINE=1 set; (2) point at a checkpoint file: "
            "--model open_clip:MODEL@/path/to/open_clip_pytorch_model.bin; (3) point at a folder "
            "holding open_clip_config.json and weights: --model open_clip:local-dir:/path; "
            "(4) allow downloads with --allow-download or SCOUT_ALLOW_DOWNLOAD=1 where there is "
            "network."
        ),
    )


class _Resolved:
    """What to hand open_clip: a model name, a checkpoint (or tag when downloading), overrides."""

    def __init__(self, model_id: str, name: str, pretrained: str | None, overrides: dict):
        self.model_id = model_id
        self.name = name
        self.pretrained = pretrained
        self.overrides = overrides


def resolve(args: str, options: EncoderOptions) -> _Resolved:
    import open_clip

    cache_dir = _hf_cache_dir(options)
    looked = cache_dir or "the Hugging Face cache"
    if args.startswith("local-dir:"):
        folder = Path(args[len("local-dir:"):]).expanduser().resolve()
        if not (folder / "open_clip_config.json").is_file():
            raise WeightsUnavailable(
                f"{folder} has no open_clip_config.json.",
                hint="A local-dir model is a folder with open_clip_config.json and a checkpoint "
                "(open_clip_pytorch_model.bin or .safetensors), as saved on the Hugging Face Hub.",
            )
        if not any((folder / n).is_file() for n in CHECKPOINT_NAMES):
            raise _missing(f"local-dir {folder}", f"open_clip:local-dir:{folder}", str(folder))
        return _Resolved(f"open_clip:local-dir:{folder}", f"local-dir:{folder}", None, {})
    if args.startswith("hf-hub:"):
        repo_id = args[len("hf-hub:"):]
        config = _cached_hf_file(repo_id, ["open_clip_config.json"], cache_dir)
        if config:
            folder = Path(config).parent
            if any((folder / n).is_file() for n in CHECKPOINT_NAMES):
                return _Resolved(f"open_clip:{args}", f"local-dir:{folder}", None, {})
        if options.allow_download:
            return _Resolved(f"open_clip:{args}", args, None, {})
        raise _missing(f"hf-hub:{repo_id}", f"open_clip:{args}", looked)

    name, sep, source = args.partition("@")
    if name not in open_clip.list_models():
        raise ConfigError(
            f"open_clip has no model named {name!r}.",
            hint="`python -c 'import open_clip; print(open_clip.list_models())'` lists them; "
            "e.g. open_clip:ViT-B-32@laion2b_s34b_b79k.",
        )
    if not source:
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise ConfigError(
            f"Say which weights to use for {name}: open_clip:{name}@TAG or @/path/to/checkpoint.",
            hint=f"Known tags for {name}: {', '.join(tags) or 'none'}.",
        )
    cfg = open_clip.get_pretrained_cfg(name, source)
    if not cfg:
        path = Path(source).expanduser()
        if path.suffix or os.sep in source:
            if not path.is_file():
                raise _missing(f"{name} (checkpoint file)", f"open_clip:{name}@{source}", str(path))
            return _Resolved(f"open_clip:{name}@{path.resolve()}", name, str(path.resolve()), {})
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise ConfigError(
            f"{source!r} is neither a pretrained tag of {name} nor a checkpoint file.",
            hint=f"Known tags for {name}: {', '.join(tags) or 'none'}.",
        )
    overrides = {
        "image_mean": cfg.get("mean"),
        "image_std": cfg.get("std"),
        "image_interpolation": cfg.get("interpolation"),
        "image_resize_mode": cfg.get("resize_mode"),
    }
    model_id = f"open_clip:{name}@{source}"
    checkpoint = None
    if cfg.get("hf_hub"):
        repo_id, filename = os.path.split(cfg["hf_hub"])  # "org/repo/" or "org/repo/file.bin"
        filename = filename or "open_clip_pytorch_model.bin"
        stem = filename.rsplit(".", 1)[0]
        candidates = [f"{stem}.safetensors", filename, "open_clip_model.safetensors"]
        checkpoint = _cached_hf_file(repo_id, candidates, cache_dir)
        looked = f"{looked} for {repo_id}"
    elif cfg.get("url"):
        clip_cache = Path(cache_dir or Path.home() / ".cache" / "clip")
        candidate = clip_cache / os.path.basename(cfg["url"])
        checkpoint = str(candidate) if candidate.is_file() else None
        looked = str(candidate)
    if checkpoint:
        return _Resolved(model_id, name, checkpoint, overrides)
    if options.allow_download:
        return _Resolved(model_id, name, source, {})
    raise _missing(f"{name}@{source}", model_id, looked)


class OpenClipEncoder:
    def __init__(self, args: str, options: EncoderOptions):
        try:
            import open_clip
        except ImportError:  # pragma: no cover
            raise EncoderUnavailable("open_clip is not installed.", hint="pip install open_clip_torch") from None
        resolved = resolve(args, options)
        apply_threads(options)
        self.device = resolve_device(options)
        self.image_precision = resolve_image_precision(options.image_precision, self.device)
        self._image_context = image_precision_context(self.image_precision, self.device)
        self.model_id = resolved.model_id
        kwargs = {k: v for k, v in resolved.overrides.items() if v is not None}
        try:
            model, _, self._preprocess = open_clip.create_model_and_transforms(
                resolved.name,
                pretrained=resolved.pretrained,
                device=self.device,
                cache_dir=_hf_cache_dir(options),
                require_pretrained=True,
                **kwargs,
            )
        except RuntimeError as exc:
            raise WeightsUnavailable(
                f"open_clip could not load {self.model_id}: {exc}",
                hint="Check the checkpoint matches the model architecture and is complete.",
            ) from None
        self.model = model.eval()
        self._tokenizer = open_clip.get_tokenizer(resolved.name, cache_dir=_hf_cache_dir(options))
        text_tower = getattr(self.model, "transformer", None) or getattr(self.model, "text", None)
        self._text_context = faster_text_tower(text_tower, options.text_precision, self.device) \
            if text_tower is not None else contextlib.nullcontext
        self._trim_text = (
            isinstance(self.model, open_clip.CLIP)
            and getattr(self.model, "text_pool_type", None) == "argmax"
            and getattr(self.model, "attn_mask", None) is not None
        )
        self.dim = int(self.encode_texts(["a"]).shape[1])

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self._preprocess(image)

    def image_transform(self):
        """The preprocessing alone (picklable, no weights): index engines copy it to workers."""
        return self._preprocess

    @torch.inference_mode()
    def encode_images(self, batch: torch.Tensor) -> np.ndarray:
        with self._image_context():  # fp32, bf16 autocast or scoped TF32; vectors come out float32
            features = self.model.encode_image(batch.to(self.device))
        return normalize(features.float().cpu().numpy())

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self._tokenizer(texts).to(self.device)
        with self._text_context():
            features = self._encode_trimmed(tokens) if self._trim_text else self.model.encode_text(tokens)
        return normalize(features.float().cpu().numpy())

    def _encode_trimmed(self, tokens: torch.Tensor) -> torch.Tensor:
        """CLIP's encode_text on only the tokens up to the last end-of-text.

        Queries are a handful of tokens padded to 77. The text transformer is causal and pools
        at the end-of-text token, so padding after it cannot change the result; cutting it makes
        a short query several times cheaper (BENCHMARKS.md). Same maths as open_clip's
        ``CLIP.encode_text``, checked against it in the tests.
        """
        m = self.model
        length = int(tokens.argmax(dim=-1).max()) + 1  # end-of-text has the highest token id
        tokens = tokens[:, :length]
        cast = m.transformer.get_cast_dtype()
        x = m.token_embedding(tokens).to(cast) + m.positional_embedding[:length].to(cast)
        x = m.transformer(x, attn_mask=m.attn_mask[:length, :length])
        x = m.ln_final(x)
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        if isinstance(m.text_projection, torch.nn.Linear):
            return m.text_projection(x)
        return x @ m.text_projection if m.text_projection is not None else x


def load(args: str, options: EncoderOptions) -> OpenClipEncoder:
    return OpenClipEncoder(args, options)
