"""What Scout knows of an image, gathered for the copy writers and for grounding.

Everything comes from what the library already holds or can compute offline: the asset's stored
vector scored against the label vocabulary (zero-shot labels), its pixels (dominant colours,
read through :mod:`search.files`, so only catalogued files inside the roots), its size, and
text found in it when an OCR result is passed in (Scout has no OCR stage yet; empty otherwise).

A label counts as shown when its score stands out from the image's scores for the whole
vocabulary by :data:`VISIBLE_Z` robust standard deviations; :mod:`generation.grounding` applies
the same rule to references, so a template variant never cites a label grounding would reject.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image

from generation.copy.colours import Colour, dominant_colours
from generation.copy.vocabulary import LabelVocabulary, default_vocabulary
from indexer.encoders.base import Encoder, normalize
from indexer.errors import AssetNotFound
from indexer.library import Library
from search.files import rendered

# How far (in robust standard deviations over the vocabulary) a label's score must stand above
# the image's median label score to count as shown; see generation/grounding.py for how 3.0 was
# chosen on sample_assets (and that it matches search's relevance cutoff).
VISIBLE_Z = 3.0


@dataclass(frozen=True)
class Label:
    name: str
    score: float  # cosine of the image and the label's prompt
    z: float  # (score - median) / (1.4826 * MAD) over the vocabulary for this image


@dataclass(frozen=True)
class ImageFacts:
    """One image as the copy writers see it. ``labels`` holds only labels judged shown."""

    asset_id: int | None
    labels: tuple[Label, ...]
    colours: tuple[Colour, ...]
    text: str
    orientation: str
    width: int
    height: int
    model: str
    score_median: float  # the image's median score over the vocabulary ...
    score_spread: float  # ... and its robust standard deviation (1.4826 * MAD): grounding's scale
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    def visible_elements(self) -> list[str]:
        return [label.name for label in self.labels] + [colour.name for colour in self.colours]

    def to_dict(self) -> dict:
        """JSON-ready (no vector), for prompts and packages."""
        data = asdict(self)
        data.pop("vector")
        return data


def label_statistics(scores: np.ndarray) -> tuple[float, float]:
    median = float(np.median(scores))
    spread = float(1.4826 * np.median(np.abs(scores - median)))
    return median, max(spread, 1e-6)


def facts_for_vector(vector: np.ndarray, encoder: Encoder, *, vocabulary: LabelVocabulary | None = None,
                     colours: list[Colour] | tuple[Colour, ...] = (), text: str = "", width: int = 0,
                     height: int = 0, orientation: str = "unknown", asset_id: int | None = None,
                     top: int = 5) -> ImageFacts:
    """ImageFacts from an image vector in the encoder's space (plus whatever else is known)."""
    vocabulary = vocabulary or default_vocabulary()
    scores = vocabulary.scores(encoder, vector)
    median, spread = label_statistics(scores)
    labels = []
    for index in np.argsort(-scores)[:top]:
        z = (float(scores[index]) - median) / spread
        if z < VISIBLE_Z:
            break
        labels.append(Label(vocabulary.labels[index], round(float(scores[index]), 4), round(z, 2)))
    return ImageFacts(
        asset_id=asset_id, labels=tuple(labels), colours=tuple(colours), text=text.strip(),
        orientation=orientation, width=width, height=height, model=encoder.model_id,
        score_median=median, score_spread=spread, vector=normalize(np.asarray(vector).reshape(1, -1))[0],
    )


def image_facts(library: Library, encoder: Encoder, asset_id: int, *, vocabulary: LabelVocabulary | None = None,
                text: str = "", top: int = 5) -> ImageFacts:
    """ImageFacts for a catalogued asset: its stored vector, its pixels, its size.

    ``encoder`` must be the library's model (the labels are scored in its space).
    """
    library.check_model(encoder.model_id)
    pixels = Image.open(io.BytesIO(rendered(library, asset_id, 256)))  # checks id and roots
    asset = library.catalog.asset(asset_id)
    vector = library.catalog.vector_for_asset(asset_id)
    if asset is None or vector is None:
        raise AssetNotFound(f"Asset {asset_id} has no embedding yet.", hint="Run `scout index` to finish it.")
    return facts_for_vector(
        vector, encoder, vocabulary=vocabulary, colours=dominant_colours(pixels), text=text,
        width=asset.width, height=asset.height, orientation=asset.orientation, asset_id=asset_id, top=top,
    )

