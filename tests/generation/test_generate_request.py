"""What a generation request and the generator options accept, and the clear errors otherwise."""

from __future__ import annotations

import pytest

from generation.generate import GenerationRequest, GeneratorOptions
from indexer.errors import ConfigError


@pytest.mark.parametrize("overrides, message", [
    ({"prompt": "  "}, "needs a prompt"),
    ({"n": 0}, "1 to 16 images"),
    ({"n": 17}, "1 to 16 images"),
    ({"width": 8}, "width must be 16 to 4096"),
    ({"height": 10_000}, "height must be 16 to 4096"),
    ({"seed": -1}, "seed"),
    ({"steps": 0}, "Steps"),
    ({"guidance": 80.0}, "Guidance"),
])
def test_bad_requests_are_refused_with_the_field_named(overrides, message):
    with pytest.raises(ConfigError, match=message):
        GenerationRequest(**{"prompt": "a beach", **overrides})


def test_a_plain_request_keeps_backend_choices_open():
    request = GenerationRequest("a beach", width=1200, height=628)
    assert (request.n, request.seed, request.steps, request.guidance) == (1, None, None, None)


@pytest.mark.parametrize("options, message", [
    ({"dtype": "fp8"}, "Unknown dtype"),
    ({"image_sizes": ("1024x1024", "big")}, "is not a size"),
    ({"image_sizes": ("0x1024",)}, "is not a size"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        GeneratorOptions(**options)
