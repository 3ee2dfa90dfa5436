"""How the grounding cutoff is chosen: z-scores of references true of a photo against references
taken from other photos or from typical travel copy.

    python -m benchmarks.grounding_threshold [--model offline]

sample_assets/photos is indexed into a temporary library; each photo gets references a person
would call true of it (TRUE below) and, as untrue references, every other photo's true references
plus travel words none of the photos shows. Every reference is checked by the real grounding code
(generation.grounding.ground) and the script prints, per cutoff, how many true and untrue
references pass. The value lives in generation/copy/facts.py (VISIBLE_Z); the figures are in the
docstring of generation/grounding.py and in BENCHMARKS.md ("Grounding cutoff").
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from generation.copy import CopyVariant, image_facts
from generation.grounding import ground
from indexer.encoders import load_encoder
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import IndexSettings

REPO = Path(__file__).resolve().parent.parent
TRUE = {
    "ancient-greek-coins.png": ["coins"],
    "astronaut-eileen-collins-portrait.png": ["astronaut", "person"],
    "brick-wall-texture.png": ["brick wall"],
    "cameraman-with-tripod-camera.png": ["camera", "tripod", "person"],
    "cell-microscopy.png": ["cells"],
    "chinese-temple-summer-palace.jpg": ["palace", "temple"],
    "cup-of-coffee-on-saucer.png": ["coffee", "cup", "espresso"],
    "grace-hopper-navy-portrait.jpg": ["person", "tie", "uniform"],
    "gravel-stones-texture.png": ["stones", "gravel"],
    "green-grass-texture.png": ["grass"],
    "handwritten-math-notes.png": ["handwriting"],
    "horse-silhouette-drawing.png": ["horse"],
    "hubble-deep-field-galaxies.jpg": ["galaxies", "stars", "night sky"],
    "pink-flower-closeup.jpg": ["flower", "flowers"],
    "retina-fundus-photograph.jpg": ["eye"],
    "spacex-rocket-launch.jpg": ["rocket", "launch"],
    "tabby-cat-chelsea.png": ["cat"],
    "wall-clock-motion-blur.png": ["clock"],
}
TRAVEL = ["beach", "sea", "mountains", "city", "family", "sunset", "boat", "wine", "snow", "airplane"]
CUTOFFS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="offline")
    args = parser.parse_args()
    encoder = load_encoder(args.model)
    references = sorted({r for refs in TRUE.values() for r in refs} | set(TRAVEL))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "photos"
        shutil.copytree(REPO / "sample_assets" / "photos", root)
        library = Library.create_or_open(Path(tmp) / "library")
        IndexRun(library, encoder, IndexSettings()).run([root])
        true_z, other_z = [], []
        for name, own in TRUE.items():
            facts = image_facts(library, encoder, library.catalog.asset_by_path(str(root / name)).id)
            checked = ground([CopyVariant(headline="-", body="-", cta="-", references=[r]) for r in references],
                             facts, encoder)
            for reference, variant in zip(references, checked):
                (true_z if reference in own else other_z).append(variant.grounding[0].z)
        library.close()
    print(f"model {encoder.model_id}: {len(true_z)} true references, {len(other_z)} untrue")
    print("cutoff   true passed      untrue passed")
    for cut in CUTOFFS:
        passed = sum(z >= cut for z in true_z)
        wrong = sum(z >= cut for z in other_z)
        print(f"z >= {cut:<4g} {passed:>3} / {len(true_z):<8} {wrong:>3} / {len(other_z)} "
              f"({100 * wrong / len(other_z):.1f} %)")


if __name__ == "__main__":
    main()
