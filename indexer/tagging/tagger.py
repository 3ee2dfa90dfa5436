"""Zero-shot tagging: every content scored against every tag of a taxonomy with the library's own
model, exactly as a search scores it against a query.

Confidence is calibrated, not raw cosine: a tag's score on one image means little by itself
(prompts differ in how much they resemble any photo, and images in how much they resemble any
prompt), so it is read against both: the mean of the tag-wise scale (robust standard deviations
above that tag's median over a sample of the library, the scale search uses for relevance) and
the image-wise scale (above that image's median over all tags of the taxonomy). The tag-wise
scale alone cannot see a tag that fits much of the library ("animals" on a library of pets sits
at its own median); the image-wise one alone over-suggests on images that fit nothing well.
Measured on 58 labelled photos (benchmarks/tagging.py, BENCHMARKS.md "Tagging"), the variant and
the default threshold 2.0 chosen on the 18 sample photos (best F1 there for both offline models)
and checked on the 40 held-out ones: with the default offline model the mean shows 0.66
precision / 0.59 recall held out, against 0.46 / 0.23 for the tag-wise scale at 3.0 (with the
older Lite0 model 0.75 / 0.49 against 0.70 / 0.31).
The tag-wise scale is fixed per (model, taxonomy version) the first time the library is tagged
and stored, so confidences stay comparable across incremental runs and thresholds keep their
meaning.

Incremental: a content is scored once per (model, taxonomy version); an unchanged re-run reads one
count and stops. Editing a prompt changes the version and re-scores everything, which is a matrix
product over stored vectors (no image is decoded) and replaces the suggestions only, never
people's decisions.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from indexer.calibration import robust_scale
from indexer.catalog.tags import SuggestionWrite, ThresholdRow
from indexer.encoders.base import Encoder, normalize
from indexer.errors import ConfigError
from indexer.library import Library
from indexer.tagging.taxonomy import Taxonomy

# Scores at or above this are stored, so a lowered threshold needs no re-scoring; below it a
# tag is noise for that image on any threshold worth using.
STORE_FLOOR = 1.5
CALIBRATION_SAMPLE = 4096
TAXONOMY_META = "taxonomy"


@dataclass
class TagRunStats:
    total: int = 0
    scored: int = 0
    suggestions: int = 0
    seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)


TagProgress = Callable[[TagRunStats], None]


def tag_vectors(encoder: Encoder, taxonomy: Taxonomy) -> np.ndarray:
    """One unit vector per scored tag: the normalised mean of its prompts' text vectors."""
    tags = taxonomy.scored_tags
    prompts = [p for t in tags for p in t.prompts]
    vectors = normalize(np.asarray(encoder.encode_texts(prompts), dtype=np.float32))
    out, start = [], 0
    for tag in tags:
        out.append(vectors[start:start + len(tag.prompts)].mean(axis=0))
        start += len(tag.prompts)
    return normalize(np.vstack(out).astype(np.float32))


def calibrated(scores: np.ndarray, centre: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Confidences of a (images x tags) cosine matrix: the mean of the tag-wise scale (``centre``,
    ``spread`` per tag, over the library) and the image-wise scale (per row, over the tags)."""
    tagwise = (scores - centre) / spread
    row_centre = np.median(scores, axis=1, keepdims=True)
    row_spread = np.maximum(1.4826 * np.median(np.abs(scores - row_centre), axis=1, keepdims=True), 1e-6)
    return (tagwise + (scores - row_centre) / row_spread) / 2


def check_thresholds_model(taxonomy: Taxonomy, model_id: str) -> None:
    """Thresholds are on one model's scale: refuse a taxonomy whose thresholds were set for another."""
    if taxonomy.model and taxonomy.model != model_id and any(t.threshold is not None for t in taxonomy.tags):
        raise ConfigError(
            f"The taxonomy's thresholds were set for model {taxonomy.model!r}, but this library uses "
            f"{model_id!r}; confidences of different models are not comparable.",
            hint="Remove the thresholds (and the model line) from the taxonomy, then run "
            "`scout tag calibrate` once people have reviewed some suggestions.")


class Tagger:
    def __init__(self, library: Library, encoder: Encoder):
        library.check_model(encoder.model_id)
        self.library = library
        self.catalog = library.catalog
        self.encoder = encoder

    def version(self, taxonomy: Taxonomy) -> str:
        return f"{self.encoder.model_id}#{taxonomy.version}"

    def run(self, taxonomy: Taxonomy, progress: TagProgress | None = None) -> TagRunStats:
        """Score every content not yet scored with this model and taxonomy; the writer lock is held."""
        check_thresholds_model(taxonomy, self.encoder.model_id)
        with self.library.writer_lock():
            return self.run_locked(taxonomy, progress)

    def run_locked(self, taxonomy: Taxonomy, progress: TagProgress | None = None) -> TagRunStats:
        """:meth:`run` for a caller that already holds the writer lock (an index run)."""
        check_thresholds_model(taxonomy, self.encoder.model_id)
        report = progress or (lambda s: None)
        model, version = self.encoder.model_id, self.version(taxonomy)
        stats = TagRunStats(total=self.catalog.untagged_count(version))
        self._store_taxonomy(taxonomy)
        report(stats)
        if stats.total:
            tags = taxonomy.scored_tags
            matrix = tag_vectors(self.encoder, taxonomy)
            centre, spread = self._calibration(taxonomy, matrix)
            for hashes, vectors in self.catalog.untagged_vectors(version):
                confidence = calibrated(vectors @ matrix.T, centre, spread)
                rows, cols = np.nonzero(confidence >= STORE_FLOOR)
                writes = [SuggestionWrite(hashes[i], tags[j].name, round(float(confidence[i, j]), 4),
                                          tags[j].group) for i, j in zip(rows, cols)]
                self.catalog.write_suggestions(model, version, hashes, writes)
                stats.scored += len(hashes)
                stats.suggestions += len(writes)
                stats.seconds = time.monotonic() - stats.started
                report(stats)
        stats.seconds = time.monotonic() - stats.started
        return stats

    def _calibration(self, taxonomy: Taxonomy, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each tag's (centre, spread) over the library, drawn once per (model, taxonomy version)."""
        model, version = self.encoder.model_id, taxonomy.version
        stored = self.catalog.tag_calibration(model, version)
        names = [t.name for t in taxonomy.scored_tags]
        if not all(name in stored for name in names):
            sample = self.catalog.sample_vectors(CALIBRATION_SAMPLE)
            scores = sample @ matrix.T if len(sample) else np.zeros((0, len(names)), dtype=np.float32)
            stored = {name: robust_scale(scores[:, j]) for j, name in enumerate(names)}
            self.catalog.set_tag_calibration(model, version, stored)
        centre = np.array([stored[n][0] for n in names], dtype=np.float32)
        spread = np.array([stored[n][1] for n in names], dtype=np.float32)
        return centre, spread

    def _store_taxonomy(self, taxonomy: Taxonomy) -> None:
        """The taxonomy in use (the review queue and search read tags, hierarchy and groups from
        it) and its thresholds for this model. Thresholds calibrated from decisions or set by
        hand outrank the file's."""
        self.catalog.set_meta(**{TAXONOMY_META: taxonomy.model_dump_json()})
        self.catalog.replace_taxonomy_thresholds(self.encoder.model_id, [
            ThresholdRow(t.name, t.threshold, "taxonomy", None, None, 0) for t in taxonomy.tags if t.threshold is not None])


def tag_new_contents(library: Library, encoder: Encoder) -> TagRunStats | None:
    """After an index run (writer lock held): tag what it added with the library's taxonomy, if the
    library was ever tagged; a library nobody tagged pays one meta read."""
    taxonomy = stored_taxonomy(library)
    if taxonomy is None:
        return None
    if taxonomy.model and taxonomy.model != encoder.model_id:  # thresholds of another model: no guessing
        return None
    return Tagger(library, encoder).run_locked(taxonomy)


def stored_taxonomy(library: Library) -> Taxonomy | None:
    """The taxonomy the library was last tagged with, if any."""
    raw = library.catalog.get_meta(TAXONOMY_META)
    return Taxonomy.model_validate(json.loads(raw)) if raw else None
