"""``openai-images``: an OpenAI-compatible ``/v1/images/generations`` endpoint at a base URL.

The wire format has no negative prompt, seed, steps or guidance, so the negative prompt is folded
into the prompt as an "Avoid:" sentence and the provenance says exactly what was sent; seed, steps
and guidance are recorded as unknown (None) rather than invented.
"""

from __future__ import annotations

import io
from dataclasses import replace

from PIL import Image

from generation.generate.base import GeneratedImage, GenerationRequest, GeneratorOptions, parse_size
from generation.openai_api import OpenAIClient
from indexer.errors import ConfigError, ServiceUnavailable
from indexer.generated import Provenance

MAX_PIXELS = 64_000_000  # far above any API's size; below it an answer cannot be a pixel bomb


class OpenAIImagesGenerator:
    name = "openai-images"

    def __init__(self, client: OpenAIClient, image_sizes: tuple[str, ...] = ()):
        self.client = client
        self.model_id = client.settings.model
        self.image_sizes = image_sizes

    def generate(self, request: GenerationRequest) -> list[GeneratedImage]:
        prompt = request.prompt
        if request.negative_prompt:
            prompt = f"{prompt}\nAvoid: {request.negative_prompt}"
        size = closest_size(request.width, request.height, self.image_sizes)
        extra = {"endpoint": self.client.settings.base_url, "sent_prompt": prompt, "size_sent": size,
                 "requested_size": f"{request.width}x{request.height}"}
        images = []
        for data in self.client.generate_images(prompt, n=request.n, size=size):
            image = self._decode(data)
            images.append(GeneratedImage(image, Provenance(
                prompt=request.prompt, negative_prompt=request.negative_prompt, width=image.width,
                height=image.height, model=self.model_id, generator=self.name, extra=extra,
            )))
        return images

    def _decode(self, data: bytes) -> Image.Image:
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ValueError(f"{image.width}x{image.height} pixels")
                return image.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ServiceUnavailable(
                f"The image endpoint {self.client.endpoint} returned an image Scout cannot use ({exc}).",
                hint="Check that the endpoint serves an image model.",
            ) from None


def closest_size(width: int, height: int, sizes: tuple[str, ...]) -> str:
    """The allowed size nearest in aspect (then in area) to the one asked for; as asked when the
    endpoint takes any size."""
    if not sizes:
        return f"{width}x{height}"
    aspect = width / height

    def distance(size: str) -> tuple[float, float]:
        w, h = parse_size(size)
        return abs(w / h - aspect), abs(w * h - width * height)

    return min(sizes, key=distance)


def load(args: str, options: GeneratorOptions) -> OpenAIImagesGenerator:
    endpoint = options.endpoint
    if endpoint is None:
        raise ConfigError(
            "The openai-images generator has no endpoint configured.",
            hint="Set SCOUT_IMAGES_BASE_URL (e.g. https://api.openai.com/v1) and SCOUT_IMAGES_MODEL "
            "(and SCOUT_IMAGES_API_KEY or OPENAI_API_KEY).",
        )
    if args.strip():
        endpoint = replace(endpoint, model=args.strip())
    return OpenAIImagesGenerator(OpenAIClient(endpoint), options.image_sizes)
