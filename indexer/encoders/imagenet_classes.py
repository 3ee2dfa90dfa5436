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

from functools import lru_cache

TEMPLATES = ("a photo of a {}.", "a close-up photo of a {}.", "a photo of the {}.", "a picture of a {}.",
             "a good photo of a {}.")
MAX_HYPERNYMS = 3
KINDS = ("name", "synonyms", "hypernym", "hypernyms", "gloss")


@lru_cache(maxsize=1)
def synonyms() -> tuple[tuple[str, ...], ...]:
    """Per class, its comma-separated WordNet lemmas as timm lists them ("tabby", "tabby cat")."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return tuple(tuple(n.strip() for n in info.index_to_description(i).split(",") if n.strip())
                 for i in range(1000))


def _glosses() -> list[str]:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return [info.index_to_description(i, detailed=True).split(": ", 1)[-1].strip() for i in range(1000)]


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
