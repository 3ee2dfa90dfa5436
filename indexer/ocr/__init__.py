"""Text in images: an OCR engine behind the one registry, and the content pass that stores its
findings (:mod:`indexer.ocr.content_pass`).

The public API, used by the index run and by anything else that needs to read an image (brand
safety reads rendered ads that are not in the library)::

    engine = load_ocr_engine()                 # "rapidocr" by default
    result = engine.recognise(pil_image)       # OcrResult(text, lines=[OcrLine(text, box, score)])

Boxes are four ``[x, y]`` corners (clockwise from top-left) in the pixel coordinates of the image
handed in. An engine's ``id`` names it and every setting that changes what it finds, so stored
results can be re-read when it changes.

Backends register under the ``scout.ocr_engines`` entry-point group: a callable
``load(options: OcrOptions) -> OcrEngine``. Importing this module imports no OCR library (they
bring onnxruntime and OpenCV, which ``scout search`` must never pay for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Protocol

from indexer.errors import ConfigError
from indexer.registry import Registry

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_ENGINE = "rapidocr"

# Whether libraries that never chose (``scout index --ocr`` / ``--no-ocr``) get OCR: on unless this
# says off. Read at the edge (CLI, server settings): a test suite or a batch machine sets it once.
OCR_ENV = "SCOUT_OCR"

# Lines recognised with a lower confidence are dropped. Measured (benchmarks/ocr_cost.py,
# BENCHMARKS.md "OCR"): on the 18 sample photos, what the detector mistakes for text (coin reliefs,
# handwriting, a logo) comes back as junk scoring 0.54-0.69, a real name tag 0.87; every rendered
# line kept its score above 0.85 at every decode size.
DEFAULT_MIN_SCORE = 0.75


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: list[list[float]]  # four [x, y] corners in the recognised image's pixels
    score: float  # the recogniser's confidence, 0-1

    def as_dict(self) -> dict:
        return {"text": self.text, "box": self.box, "score": self.score}


@dataclass(frozen=True)
class OcrResult:
    text: str  # the lines joined by newlines, in reading order
    lines: list[OcrLine] = field(default_factory=list)

    @classmethod
    def of(cls, lines: list[OcrLine]) -> "OcrResult":
        return cls("\n".join(line.text for line in lines), lines)

    def scaled(self, sx: float, sy: float) -> "OcrResult":
        """The same result with boxes in another pixel grid (a reduced decode back to the original)."""
        return OcrResult(self.text, [OcrLine(line.text, [[round(x * sx, 1), round(y * sy, 1)] for x, y in line.box],
                                             line.score) for line in self.lines])


@dataclass(frozen=True)
class OcrOptions:
    """How to run an engine. ``threads`` is per calling thread: an engine recognises in as many
    threads as call it at once, each with this many compute threads, so the index run's two
    workers use one each and two cores are not oversubscribed."""

    threads: int = 1
    min_score: float = DEFAULT_MIN_SCORE

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ConfigError(f"OCR threads must be at least 1, got {self.threads}.")
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"OCR confidence floor must be within 0-1, got {self.min_score}.")


class OcrEngine(Protocol):
    id: str  # engine, model versions and the settings that change results

    def recognise(self, image: "Image.Image") -> OcrResult:
        """Read the text in ``image`` (any mode; thread-safe)."""


Loader = Callable[[OcrOptions], OcrEngine]

OCR_ENGINES: Registry[Loader] = Registry("ocr engine", "scout.ocr_engines", {DEFAULT_ENGINE: "indexer.ocr.rapid:load"})


def default_switch(environ: Mapping[str, str]) -> bool:
    """The OCR default for libraries that never chose, from ``$SCOUT_OCR`` in ``environ`` (the
    edge hands in ``os.environ``): on, unless it is off, 0, false or no."""
    return environ.get(OCR_ENV, "on").strip().lower() not in ("off", "0", "false", "no")


def load_ocr_engine(name: str = DEFAULT_ENGINE, options: OcrOptions | None = None) -> OcrEngine:
    """A ready engine; ``ComponentUnavailable`` if its package is missing or the name unknown."""
    return OCR_ENGINES.loader(name)(options or OcrOptions())
