"""Safety checks: the pluggable producers of signals, behind the one registry.

A check is built once per policy and encoder (``load(policy, encoder) -> SafetyCheck``) and then
asked about many subjects. Built-ins:

* ``words``: the policy's word lists over the OCR text and the copy, through obfuscation;
* ``text_similarity``: sentence embedding of the text (whole and per line) against each
  category's and context's descriptions, in the library model's text space;
* ``zero_shot``: the image vector against each category's image prompts. A library content's
  vector is the stored one (no re-encoding). When the picture carries text and some category
  scores near its threshold, the image is encoded again with the text boxes painted over and
  that score is used: a word written on an object must not make the picture unsafe by itself;
* ``nudity``: nudenet's exposed-body detector (its ONNX model ships in the package).

Plugins register under the ``scout.safety_checks`` entry-point group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

from indexer.registry import Registry
from indexer.safety.policy import Policy
from indexer.safety.signals import Signal, Subject
from indexer.safety.words import WordList

if TYPE_CHECKING:
    from PIL import Image

    from indexer.encoders.base import Encoder

MAX_LINES = 32  # lines embedded one by one; a poster's worth
SNIPPET = 80


class SafetyCheck(Protocol):
    name: str

    def signals(self, subject: Subject) -> list[Signal]:
        """Everything this check sees in ``subject`` (called from worker threads)."""


Loader = Callable[[Policy, "Encoder | None"], SafetyCheck]

SAFETY_CHECKS: Registry[Loader] = Registry(
    "safety check", "scout.safety_checks",
    {"words": "indexer.safety.checks:load_words", "text_similarity": "indexer.safety.checks:load_text_similarity",
     "zero_shot": "indexer.safety.checks:load_zero_shot", "nudity": "indexer.safety.nudity:load"},
    example="scout safety --checks words,zero_shot",
)
DEFAULT_CHECKS = ("words", "text_similarity", "zero_shot", "nudity")


def _snippet(text: str, start: int, end: int) -> str:
    left = max(0, start - SNIPPET // 2)
    return text[left:left + SNIPPET].strip()


class WordsCheck:
    name = "words"

    def __init__(self, policy: Policy):
        entries = []
        for key, category in policy.categories.items():
            entries += [(key, w, False) for w in category.words] + [(key, w, True) for w in category.ambiguous]
        for key, context in policy.contexts.items():
            entries += [(key, w, False) for w in context.words]
        self._words = WordList(entries)

    def signals(self, subject: Subject) -> list[Signal]:
        text = subject.text
        return [Signal(hit.key, "words", 1.0, hit.ambiguous,
                       {"word": hit.word, "found": hit.found, "snippet": _snippet(text, hit.start, hit.end)})
                for hit in self._words.find(text)]


def _prompt_matrix(encoder: "Encoder", groups: dict[str, list[str]]) -> tuple[list[str], list[str], np.ndarray]:
    keys, prompts = [], []
    for key, texts in groups.items():
        for text in texts:
            keys.append(key)
            prompts.append(text)
    vectors = encoder.encode_texts(prompts) if prompts else np.zeros((0, encoder.dim), np.float32)
    return keys, prompts, np.asarray(vectors, dtype=np.float32)


def _best_per_key(keys: list[str], prompts: list[str], scores: np.ndarray) -> dict[str, tuple[float, str]]:
    best: dict[str, tuple[float, str]] = {}
    for key, prompt, score in zip(keys, prompts, scores):
        if key not in best or score > best[key][0]:
            best[key] = (float(score), prompt)
    return best


class TextSimilarityCheck:
    name = "text_similarity"

    def __init__(self, policy: Policy, encoder: "Encoder"):
        self._encoder = encoder
        groups = {k: c.description for k, c in policy.categories.items()}
        groups |= {k: c.description for k, c in policy.contexts.items()}
        self._keys, self._prompts, self._vectors = _prompt_matrix(encoder, groups)

    def signals(self, subject: Subject) -> list[Signal]:
        lines = [line.get("text", "").strip() for line in subject.lines] + subject.copy.splitlines()
        lines = [line for line in lines if line.strip()][:MAX_LINES]
        if not lines or not len(self._keys):
            return []
        pieces = list(dict.fromkeys([" ".join(lines), *lines] if len(lines) > 1 else lines))
        scores = self._encoder.encode_texts(pieces) @ self._vectors.T  # (pieces, prompts)
        best: dict[str, Signal] = {}
        for row, piece in zip(scores, pieces):
            for key, (score, prompt) in _best_per_key(self._keys, self._prompts, row).items():
                if key not in best or score > best[key].score:
                    best[key] = Signal(key, "text", score, evidence={"snippet": piece[:SNIPPET], "description": prompt})
        return list(best.values())


def _mask_text(image: "Image.Image", lines: list[dict]) -> "Image.Image":
    """The image with every OCR box filled with the colour around it (a typographic attack's
    word removed before the picture is judged)."""
    from PIL import ImageDraw, ImageStat

    masked = image.copy()
    draw = ImageDraw.Draw(masked)
    for line in lines:
        box = line.get("box") or []
        if len(box) < 3:
            continue
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        pad = 0.15 * (max(ys) - min(ys))
        rect = (max(0, min(xs) - pad), max(0, min(ys) - pad), min(image.width, max(xs) + pad),
                min(image.height, max(ys) + pad))
        if rect[2] <= rect[0] or rect[3] <= rect[1]:
            continue
        around = image.crop((max(0, rect[0] - 2 * pad - 2), max(0, rect[1] - 2 * pad - 2),
                             min(image.width, rect[2] + 2 * pad + 2), min(image.height, rect[3] + 2 * pad + 2)))
        fill = tuple(int(v) for v in ImageStat.Stat(around).median)
        draw.rectangle(rect, fill=fill)
    return masked


class ZeroShotCheck:
    """Zero-shot classification of the picture over every category's and context's prompts
    plus the policy's neutral background prompts (softmax at the policy's ``image_scale``). A
    key's score is the probability mass of its prompts: raw cosines mean little (with the
    offline model every prompt scores 0.5-0.6 against every photo), while "which of these
    things is the picture most like, everyday things included" is a probability a threshold
    can be set on."""

    name = "zero_shot"

    def __init__(self, policy: Policy, encoder: "Encoder"):
        self._encoder = encoder
        self._scale = policy.image_scale
        self._recheck = min(policy.thresholds.image_support, policy.thresholds.context_image)
        groups = {k: c.image_prompts for k, c in policy.categories.items()}
        groups |= {k: c.image_prompts for k, c in policy.contexts.items()}
        prompts = list(dict.fromkeys([p for texts in groups.values() for p in texts]))
        self._members = {key: [prompts.index(p) for p in texts] for key, texts in groups.items() if texts}
        self._prompts = prompts
        background = [p for p in dict.fromkeys(policy.image_background) if p not in prompts]
        everything = prompts + background
        self._vectors = np.asarray(encoder.encode_texts(everything), dtype=np.float32) if prompts else None

    def _encode(self, image: "Image.Image") -> np.ndarray:
        import torch

        batch = torch.stack([self._encoder.preprocess(image.convert("RGB"))])
        return self._encoder.encode_images(batch)[0]

    def _scores(self, vector: np.ndarray) -> dict[str, tuple[float, str]]:
        logits = self._scale * (self._vectors @ np.asarray(vector, np.float32))
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return {key: (float(probs[idx].sum()), self._prompts[max(idx, key=lambda i: probs[i])])
                for key, idx in self._members.items()}

    def signals(self, subject: Subject) -> list[Signal]:
        if self._vectors is None or (subject.vector is None and subject.image is None):
            return []
        vector = subject.vector if subject.vector is not None else self._encode(subject.image)
        best = self._scores(vector)
        masked = False
        boxed = [line for line in subject.lines if line.get("box")]
        if subject.image is not None and boxed and any(score >= self._recheck for score, _ in best.values()):
            best = self._scores(self._encode(_mask_text(subject.image, boxed)))
            masked = True
        return [Signal(key, "image", score, evidence={"prompt": prompt, "text_masked": masked})
                for key, (score, prompt) in best.items()]


def load_words(policy: Policy, encoder: "Encoder | None") -> WordsCheck:
    return WordsCheck(policy)


def load_text_similarity(policy: Policy, encoder: "Encoder | None") -> TextSimilarityCheck:
    return TextSimilarityCheck(policy, _needs(encoder, "text_similarity"))


def load_zero_shot(policy: Policy, encoder: "Encoder | None") -> ZeroShotCheck:
    return ZeroShotCheck(policy, _needs(encoder, "zero_shot"))


def _needs(encoder: "Encoder | None", check: str) -> "Encoder":
    if encoder is None:
        from indexer.errors import ConfigError

        raise ConfigError(f"The safety check {check!r} needs the library's model.",
                          hint="Index the library first (scout index FOLDER), or leave the check out.")
    return encoder


def load_checks(names: list[str] | tuple[str, ...], policy: Policy, encoder: "Encoder | None") -> list[SafetyCheck]:
    return [SAFETY_CHECKS.loader(name)(policy, encoder) for name in dict.fromkeys(names)]
