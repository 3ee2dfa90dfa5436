"""Grounding: does the picture show what the copy says it shows?

Each variant lists the visual elements it refers to (``references``). Each reference is checked
against the image by what Scout can measure:

- a colour name of the palette (``blue``) must be one of the image's dominant colours (at least
  10 % of its pixels, :mod:`generation.copy.colours`);
- words found in the image's text (OCR, when known) are shown by definition;
- anything else is scored zero-shot by the library's model: the cosine of the image's stored
  vector and the prompt "a photo of a {reference}.", expressed as robust standard deviations
  above the median score the same image gives the whole label vocabulary (ImageNet + travel
  terms): ``z = (score - median) / (1.4826 * MAD)``. The reference is shown when ``z >= 3.0``.

Why a z-score over the image's own label scores: raw cosines mean different things for different
images and models (the offline model's image vectors sit far closer to every text than CLIP's),
while "how far does this element stand out from everything else one could say about this
picture" is comparable across both. It is the same construction as search's relevance, turned
around (one image, many texts instead of one text, many images), and the same 3.0 cutoff.

How 3.0 was chosen (``python -m benchmarks.grounding_threshold``, BENCHMARKS.md "Grounding
cutoff"): on ``sample_assets/photos`` with the offline model, 31 references true of their photo (cat, coffee, palace, rocket, tie, camera, flowers, horse, clock, coins...) against
671 taken from the other photos or from travel copy (beach, sea, mountains, sunset...):

=========  ===================  ====================
cutoff     true refs passed     other refs passed
=========  ===================  ====================
z >= 2.5   14 / 31              18 / 671 (2.7 %)
z >= 3.0   11 / 31              5 / 671 (0.7 %)
z >= 3.5   10 / 31              0 / 671
z >= 4.0   7 / 31               0 / 671
=========  ===================  ====================

3.0 lets under 1 % of untrue references through while passing everything the offline model can
see at all; the true references it fails are the ones that model cannot recognise (textures,
coins, clocks, galaxies: see README "The offline model, honestly"), and a flag on those is the
honest answer: "the model could not confirm this", for a person to judge. With CLIP far more true
references pass. The same cutoff decides which labels :class:`~generation.copy.facts.ImageFacts`
lists, so a template variant never cites a label grounding would reject.
"""

from __future__ import annotations

import re

from generation.copy.facts import VISIBLE_Z, ImageFacts
from generation.copy.lexicon import PALETTE
from generation.copy.variant import CopyVariant, ReferenceCheck
from generation.copy.vocabulary import embed_labels
from indexer.encoders.base import Encoder
from indexer.errors import ConfigError

_ARTICLE = re.compile(r"^(a|an|the)\s+", re.IGNORECASE)

NOTHING_REFERENCED = "references nothing in the image: copy that would fit any picture"


def normalise(reference: str) -> str:
    return _ARTICLE.sub("", " ".join(reference.split())).strip(" .,;:!?\"'").lower()


def ground(variants: list[CopyVariant], facts: ImageFacts, encoder: Encoder, *,
           threshold: float = VISIBLE_Z) -> list[CopyVariant]:
    """The variants with ``grounding`` filled in and a reviewer flag for each reference the image
    does not show, and for a variant that references nothing."""
    if facts.vector is None:
        raise ConfigError("Grounding needs the image's vector; build ImageFacts with image_facts().")
    if encoder.model_id != facts.model:
        raise ConfigError(f"Grounding must use the model the facts were made with ({facts.model}), "
                          f"not {encoder.model_id}.")
    colours = {colour.name for colour in facts.colours}
    text = facts.text.lower()
    to_score = sorted({normalise(r) for v in variants for r in v.references} - set(PALETTE) - {""})
    to_score = [r for r in to_score if not (text and r in text)]
    z_of = {}
    if to_score:
        scores = embed_labels(encoder, to_score) @ facts.vector
        z_of = {r: (float(s) - facts.score_median) / facts.score_spread for r, s in zip(to_score, scores)}
    grounded = []
    for variant in variants:
        checks = [_check(reference, colours, text, z_of, threshold) for reference in variant.references
                  if normalise(reference)]
        flags = [f"not shown: {c.reference!r} ({c.detail})" for c in checks if not c.shown]
        if not checks:
            flags.append(NOTHING_REFERENCED)
        grounded.append(variant.model_copy(update={"grounding": checks}).flagged(*flags))
    return grounded


def _check(reference: str, colours: set[str], text: str, z_of: dict[str, float], threshold: float) -> ReferenceCheck:
    key = normalise(reference)
    if key in PALETTE:
        shown = key in colours
        detail = "a dominant colour" if shown else f"not among the dominant colours ({', '.join(sorted(colours)) or 'none'})"
        return ReferenceCheck(reference=reference, kind="colour", shown=shown, detail=detail)
    if text and key in text:
        return ReferenceCheck(reference=reference, kind="text", shown=True, detail="in the image's text")
    z = round(z_of[key], 2)
    shown = z >= threshold
    detail = (f"the model scores it {z:.1f} sd above this image's typical label" if shown else
              f"the model scores it {z:.1f} sd above this image's typical label; {threshold:g} needed")
    return ReferenceCheck(reference=reference, kind="label", shown=shown, z=z, detail=detail)
