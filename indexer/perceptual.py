"""A 64-bit perceptual hash per content, to confirm near-duplicates that embedding distance finds.

Why both: embeddings say "looks alike" (two shots of one beach from one burst are neighbours),
a perceptual hash says "is the same picture" (the DCT of the downscaled grey image barely moves
under resizing, recompression or colour grading, and moves a lot between two different shots).
The embedding narrows 100 000 assets to a few neighbours each; the hash decides among them
(:mod:`search.duplicates`).

pHash (imagehash's DCT hash, 8x8 of a 32x32 grey image) from the decoded image with EXIF
orientation applied, so a rotated copy hashes like the original. Decoded at 256 px: pHash works on
32x32, and a small decode keeps the pass cheap (BENCHMARKS.md "Content passes").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer.decode import decode_image
from indexer.passes import PassInput, failure_text

if TYPE_CHECKING:
    from indexer.catalog import Catalog

PHASH = "phash64/decode256"
DECODE_SIZE = 256
BITS = 64


def phash(image) -> int:
    """The 64-bit pHash of a PIL image, as an integer."""
    import imagehash

    return int(str(imagehash.phash(image, hash_size=8)), 16)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


class PerceptualPass:
    name = "perceptual"
    table = "perceptual"
    version = PHASH

    def __init__(self, max_pixels: int = 120_000_000):
        self.max_pixels = max_pixels

    def process(self, item: PassInput) -> int:
        decoded = decode_image(item.data, item.path, max_pixels=self.max_pixels, target=DECODE_SIZE)
        return phash(decoded.image)

    def commit(self, catalog: "Catalog", results: list[tuple[PassInput, object]]) -> None:
        catalog.write_perceptual(self.version, [
            (item.hash, None, failure_text(result)) if isinstance(result, Exception)
            else (item.hash, f"{result:016x}", None)
            for item, result in results
        ])
