"""The openai-images generator against a loopback server speaking the images API."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from generation.generate import GenerationRequest, GeneratorOptions, generate_into_library, load_generator
from generation.generate.openai_images import closest_size
from generation.openai_api import EndpointSettings
from indexer.errors import ConfigError, ServiceUnavailable
from indexer.generated import PROVENANCE_CHUNK
from indexer.library import Library
from tests.generation.fake_openai import Reply, tiny_png


def options(server, **overrides) -> GeneratorOptions:
    endpoint = EndpointSettings(base_url=server.url, model="img-model", api_key="sk-img", backoff_s=0.0)
    return GeneratorOptions(endpoint=endpoint, **overrides)


def request(**overrides) -> GenerationRequest:
    values = dict(prompt="white village above a blue sea", negative_prompt="people, text", n=2,
                  width=1080, height=1920, seed=5)
    return GenerationRequest(**{**values, **overrides})


def test_images_and_what_was_asked_for(fake_openai):
    generator = load_generator("openai-images", options(fake_openai))
    first, second = generator.generate(request())

    assert first.image.mode == "RGB" and first.image.size == (8, 8)
    assert first.image.getpixel((0, 0)) != second.image.getpixel((0, 0))
    (sent,) = fake_openai.requests
    assert sent.path == "/v1/images/generations"
    assert sent.headers["authorization"] == "Bearer sk-img"
    assert sent.json == {"model": "img-model", "prompt": "white village above a blue sea\nAvoid: people, text",
                         "n": 2, "size": "1080x1920", "response_format": "b64_json"}
    made = first.provenance
    assert (made.generator, made.model, made.prompt, made.negative_prompt) == (
        "openai-images", "img-model", "white village above a blue sea", "people, text")
    assert made.seed is None and made.steps is None and made.guidance is None  # unknown, not invented
    assert (made.width, made.height) == (8, 8)
    assert made.extra["sent_prompt"].endswith("Avoid: people, text")
    assert made.extra["requested_size"] == "1080x1920"


def test_allowed_sizes_pick_the_closest_aspect(fake_openai):
    sizes = ("1024x1024", "1536x1024", "1024x1536")
    generator = load_generator("openai-images:gpt-image-1", options(fake_openai, image_sizes=sizes))
    generator.generate(request(n=1))
    assert fake_openai.requests[0].json["size"] == "1024x1536"
    assert fake_openai.requests[0].json["model"] == "gpt-image-1"
    assert closest_size(1200, 628, sizes) == "1536x1024"
    assert closest_size(1080, 1080, sizes) == "1024x1024"
    assert closest_size(1200, 628, ()) == "1200x628"


def test_a_flaky_endpoint_is_retried(fake_openai):
    fake_openai.script(Reply.status(503), Reply.status(429, headers={"Retry-After": "0"}), Reply.images(tiny_png(4)))
    (made,) = load_generator("openai-images", options(fake_openai)).generate(request(n=1))
    assert made.image.getpixel((0, 0)) == Image.open(io.BytesIO(tiny_png(4))).getpixel((0, 0))
    assert len(fake_openai.requests) == 3


def test_an_image_that_does_not_decode_is_a_clear_error(fake_openai):
    truncated = tiny_png(1)[:40]  # a PNG signature and no pixels
    fake_openai.script(Reply.json({"created": 1, "data": [{"b64_json": base64.b64encode(truncated).decode()}]}))
    with pytest.raises(ServiceUnavailable, match="cannot use"):
        load_generator("openai-images", options(fake_openai)).generate(request(n=1))


def test_options_from_the_environment(fake_openai):
    env = {"SCOUT_IMAGES_BASE_URL": fake_openai.url, "SCOUT_IMAGES_MODEL": "env-model",
           "OPENAI_API_KEY": "sk-env", "SCOUT_IMAGES_SIZES": "1024x1024, 1536x1024,1024x1536"}
    options = GeneratorOptions.from_env(env, device="cpu")
    assert options.device == "cpu" and options.image_sizes == ("1024x1024", "1536x1024", "1024x1536")
    load_generator("openai-images", options).generate(request(n=1, width=1200, height=628))
    sent = fake_openai.requests[0]
    assert (sent.json["model"], sent.json["size"], sent.headers["authorization"]) == (
        "env-model", "1536x1024", "Bearer sk-env")
    assert GeneratorOptions.from_env({}).endpoint is None
    with pytest.raises(ConfigError, match="is not a size"):
        GeneratorOptions.from_env({"SCOUT_IMAGES_SIZES": "large"})


def test_no_endpoint_configured_says_which_settings():
    with pytest.raises(ConfigError) as caught:
        load_generator("openai-images", GeneratorOptions())
    assert "SCOUT_IMAGES_BASE_URL" in caught.value.hint


def test_generated_images_join_the_library_with_provenance(fake_openai, tmp_path, tiny_encoder):
    library = Library.create_or_open(tmp_path / "lib")
    generator = load_generator("openai-images", options(fake_openai))
    saved = generate_into_library(generator, request(), library, tiny_encoder, brief_id="santorini")
    assert len(saved) == 2 and all(s.asset.generated for s in saved)
    with Image.open(saved[0].path) as image:
        stored = json.loads(image.text[PROVENANCE_CHUNK])
    assert (stored["generator"], stored["brief_id"]) == ("openai-images", "santorini")
    assert library.catalog.provenance(saved[1].asset.hash)["model"] == "img-model"
