"""The one interface every image generator implements, and what goes in and out of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol, runtime_checkable

from PIL import Image

from generation.openai_api import EndpointSettings
from indexer.errors import ConfigError
from indexer.generated import Provenance

MAX_IMAGES_PER_REQUEST = 16
MAX_SIDE = 4096
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class GenerationRequest:
    """What to draw. ``seed``, ``steps`` and ``guidance`` left as None mean "the backend's choice",
    and the provenance of every image records the value actually used (a drawn seed included)."""

    prompt: str
    negative_prompt: str = ""
    n: int = 1
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None

    def __post_init__(self) -> None:
        if not self.prompt.strip():
            raise ConfigError("A generation request needs a prompt.")
        if not 1 <= self.n <= MAX_IMAGES_PER_REQUEST:
            raise ConfigError(f"Ask for 1 to {MAX_IMAGES_PER_REQUEST} images at a time, not {self.n}.")
        for name in ("width", "height"):
            if not 16 <= getattr(self, name) <= MAX_SIDE:
                raise ConfigError(f"Image {name} must be 16 to {MAX_SIDE} pixels, got {getattr(self, name)}.")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"A seed is a whole number from 0 to {MAX_SEED}, got {self.seed}.")
        if self.steps is not None and not 1 <= self.steps <= 500:
            raise ConfigError(f"Steps must be 1 to 500, got {self.steps}.")
        if self.guidance is not None and not 0 <= self.guidance <= 50:
            raise ConfigError(f"Guidance must be 0 to 50, got {self.guidance}.")


@dataclass(frozen=True)
class GeneratedImage:
    image: Image.Image  # RGB
    provenance: Provenance


@dataclass(frozen=True)
class GeneratorOptions:
    """How to run a generator; built at the edge from flags and ``SCOUT_IMAGES_*`` settings."""

    device: str = "auto"  # diffusers: auto | cpu | cuda | cuda:N
    dtype: str = "auto"  # diffusers: auto (fp16 on CUDA, fp32 on CPU) | fp32 | fp16 | bf16
    # diffusers: draw at the model's own pixel count (512² for SD 1.5, 1024² for SDXL) in the
    # requested aspect; a model asked for 1080x1920 directly repeats its subject across the frame.
    native_size: bool = True
    endpoint: EndpointSettings | None = None  # openai-images
    # openai-images: the sizes the endpoint accepts ("1024x1024", "1536x1024"...); a request is
    # sent as the one closest in aspect. Empty: sent as asked.
    image_sizes: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **flags) -> "GeneratorOptions":
        """``flags`` plus the ``SCOUT_IMAGES_*`` endpoint settings and ``SCOUT_IMAGES_SIZES`` (the
        sizes it accepts, comma-separated). Called at the edge with ``os.environ``."""
        sizes = tuple(s.strip() for s in environ.get("SCOUT_IMAGES_SIZES", "").split(",") if s.strip())
        return cls(endpoint=EndpointSettings.from_env("SCOUT_IMAGES", environ), image_sizes=sizes, **flags)

    def __post_init__(self) -> None:
        if self.dtype not in ("auto", "fp32", "fp16", "bf16"):
            raise ConfigError(f"Unknown dtype {self.dtype!r}.", hint="Use auto, fp32, fp16 or bf16.")
        for size in self.image_sizes:
            parse_size(size)


@runtime_checkable
class Generator(Protocol):
    """Text in, images out, each with the provenance that can reproduce it."""

    name: str  # the registry name: "diffusers", "openai-images"
    model_id: str

    def generate(self, request: GenerationRequest) -> list[GeneratedImage]: ...


def parse_size(text: str) -> tuple[int, int]:
    width, sep, height = text.strip().lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit() and int(width) and int(height)):
        raise ConfigError(f"{text!r} is not a size.", hint="Write sizes as WIDTHxHEIGHT, e.g. 1024x1024.")
    return int(width), int(height)
