"""The texts that stand for each ImageNet class in the offline model's sentence space.

ConSE puts an image where the sentence embeddings of its likely classes are, so what those
sentences say decides which queries can reach the image. Each kind below gives, per class index,
one or more texts; a class's vector is the normalised mean of its texts' embeddings (a prompt
ensemble, as CLIP's zero-shot classifiers do). ``benchmarks/offline_eval/compare.py`` measures
every kind on held-out photos (BENCHMARKS.md "Offline model evaluation").

- ``name``: "a photo of a {first synonym}." (the first offline model's texts)
- ``synonyms``: every synonym of the class x ``TEMPLATES``
- ``hypernym``: "a photo of a {name}, a kind of {nearest useful WordNet hypernym}."
- ``hypernyms``: one such text per hypernym, up to ``MAX_HYPERNYMS`` of them, nearest first
- ``gloss``: "a photo of a {name}: {WordNet definition}." (the definitions ship with timm)
"""

from __future__ import annotations

import csv
import importlib.util
from functools import lru_cache
from pathlib import Path

from indexer.errors import EncoderUnavailable

TEMPLATES = ("a photo of a {}.", "a close-up photo of a {}.", "a photo of the {}.", "a picture of a {}.",
             "a good photo of a {}.")
MAX_HYPERNYMS = 3
KINDS = ("name", "synonyms", "hypernym", "hypernyms", "gloss")


def _timm_info(name: str) -> list[str]:
    """A WordNet data file timm ships (``timm/data/_info``), read without importing timm: its
    import brings torchvision and torch._dynamo, seconds an index run would wait for a word list."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable("The offline model's class names ship with timm, which is not installed.",
                                 hint="pip install timm")
    path = Path(spec.submodule_search_locations[0]) / "data" / "_info" / name
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EncoderUnavailable(f"timm's ImageNet class data is missing ({path}: {exc.strerror}).",
                                 hint="Reinstall timm: pip install --force-reinstall timm") from None


@lru_cache(maxsize=1)
def _wordnet() -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The 1000 ImageNet-1k synsets in class order, with their lemmas and definitions."""
    synsets = _timm_info("imagenet_synsets.txt")
    lemmas = dict(csv.reader(_timm_info("imagenet_synset_to_lemma.txt"), delimiter="\t"))
    definitions = dict(csv.reader(_timm_info("imagenet_synset_to_definition.txt"), delimiter="\t"))
    return synsets, lemmas, definitions


@lru_cache(maxsize=1)
def synonyms() -> tuple[tuple[str, ...], ...]:
    """Per class, its comma-separated WordNet lemmas as timm lists them ("tabby", "tabby cat")."""
    synsets, lemmas, _ = _wordnet()
    return tuple(tuple(n.strip() for n in lemmas[s].split(",") if n.strip()) for s in synsets)


def _glosses() -> list[str]:
    synsets, _, definitions = _wordnet()
    return [definitions[s].strip() for s in synsets]


def _hypernyms() -> list[list[str]]:
    from indexer.encoders.imagenet_hypernyms import HYPERNYMS

    return [[h for h in chain.split("|") if h] for chain in HYPERNYMS]


def class_texts(kind: str) -> list[list[str]]:
    """Per class index (1000), the texts whose embeddings are averaged into its vector."""
    names = synonyms()
    if kind == "name":
        return [[TEMPLATES[0].format(n[0])] for n in names]
    if kind == "synonyms":
        return [[t.format(s) for s in n for t in TEMPLATES] for n in names]
    if kind in ("hypernym", "hypernyms"):
        keep = 1 if kind == "hypernym" else MAX_HYPERNYMS
        return [[f"a photo of a {n[0]}, a kind of {h}." for h in chain[:keep]] or [TEMPLATES[0].format(n[0])]
                for n, chain in zip(names, _hypernyms())]
    if kind == "gloss":
        return [[f"a photo of a {n[0]}: {g}"] for n, g in zip(names, _glosses())]
    raise ValueError(f"unknown class text kind {kind!r}; known: {', '.join(KINDS)}")
