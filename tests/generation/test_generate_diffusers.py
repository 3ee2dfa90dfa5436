"""The diffusers generator on a real (tiny, random) Stable Diffusion pipeline saved to a folder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from generation.generate import GENERATORS, GenerationRequest, GeneratorOptions, generate_into_library, load_generator
from indexer.errors import ComponentUnavailable, ConfigError, WeightsUnavailable
from indexer.generated import PROVENANCE_CHUNK
from indexer.library import Library
from search.engine import Searcher
from search.query import Example, Filters, Query, parse_text
from tests.conftest import index_folder, write_images

CPU = GeneratorOptions(device="cpu")


@pytest.fixture(scope="module")
def tiny_sd(tiny_sd_dir):
    return load_generator(f"diffusers:{tiny_sd_dir}", CPU)


def request(**overrides) -> GenerationRequest:
    values = dict(prompt="tram on a sunny Lisbon street", negative_prompt="text, watermark", n=2,
                  width=64, height=48, seed=123, steps=2, guidance=5.0)
    return GenerationRequest(**{**values, **overrides})


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_images_carry_what_made_them_and_each_reproduces_alone(tiny_sd):
    first, second = tiny_sd.generate(request())

    assert first.image.mode == "RGB"
    # native size: the model's 32x32 pixel count in the request's 4:3 aspect, in multiples of 8
    assert first.image.size == (40, 24)
    made = first.provenance
    assert (made.seed, made.steps, made.guidance) == (123, 2, 5.0)
    assert (made.prompt, made.negative_prompt) == ("tram on a sunny Lisbon street", "text, watermark")
    assert (made.width, made.height, made.model, made.generator) == (40, 24, "tiny-sd", "diffusers")
    assert made.extra["requested_size"] == "64x48" and made.extra["pipeline"] == "StableDiffusionPipeline"
    assert made.extra["device"] == "cpu"
    assert second.provenance.seed == 124
    assert np.abs(pixels(first.image) - pixels(second.image)).max() > 0

    (again,) = tiny_sd.generate(request(n=1, seed=124))
    assert np.array_equal(pixels(again.image), pixels(second.image))


def test_exact_size_when_native_size_is_off(tiny_sd_dir):
    generator = load_generator(f"diffusers:{tiny_sd_dir}", GeneratorOptions(device="cpu", native_size=False))
    (made,) = generator.generate(request(n=1, width=64, height=48))
    assert made.image.size == (64, 48)


def test_a_drawn_seed_is_recorded(tiny_sd):
    (made,) = tiny_sd.generate(request(n=1, seed=None))
    assert isinstance(made.provenance.seed, int)
    (again,) = tiny_sd.generate(request(n=1, seed=made.provenance.seed))
    assert np.array_equal(pixels(again.image), pixels(made.image))


def test_a_folder_saved_as_img2img_draws_from_text(tiny_sd_dir, tmp_path):
    folder = shutil.copytree(tiny_sd_dir, tmp_path / "saved-as-img2img")
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "_class_name": "StableDiffusionImg2ImgPipeline"}))
    generator = load_generator(f"diffusers:{folder}", CPU)
    assert type(generator.pipe).__name__ == "StableDiffusionPipeline"
    assert generator.generate(request(n=1))[0].image.size == (40, 24)


def test_missing_or_broken_model_folders_are_clear_errors(tiny_sd_dir, tmp_path):
    with pytest.raises(WeightsUnavailable, match="No diffusers model folder") as caught:
        load_generator(f"diffusers:{tmp_path / 'nowhere'}", CPU)
    assert "model_index.json" in caught.value.hint

    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsUnavailable, match="no model_index.json"):
        load_generator(f"diffusers:{tmp_path / 'empty'}", CPU)

    broken = shutil.copytree(tiny_sd_dir, tmp_path / "broken")
    for weights in (broken / "unet").glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(WeightsUnavailable, match="could not be loaded") as caught:
        load_generator(f"diffusers:{broken}", CPU)
    assert "incomplete" in caught.value.hint

    with pytest.raises(ConfigError, match="needs a model folder"):
        load_generator("diffusers", CPU)
    with pytest.raises(ConfigError, match="fp16"):
        load_generator(f"diffusers:{tiny_sd_dir}", GeneratorOptions(device="cpu", dtype="fp16"))


def test_unknown_backend_and_registered_ones():
    with pytest.raises(ComponentUnavailable) as caught:
        load_generator("dalle-by-fax")
    assert "diffusers" in caught.value.hint and "openai-images" in caught.value.hint

    class Solid:
        name, model_id = "solid", "solid-1"

        def generate(self, request):
            return []

    with GENERATORS.registered("solid", lambda args, options: Solid()):
        assert load_generator("solid").model_id == "solid-1"
    assert "solid" not in GENERATORS.names()


def test_generated_images_join_the_library_and_are_found_by_the_next_search(tiny_sd, tmp_path, tiny_encoder):
    photos = tmp_path / "photos"
    write_images(photos, 4)
    library, _ = index_folder(tmp_path / "lib", [photos], tiny_encoder)
    searcher = Searcher(Library.open(library.path, readonly=True), tiny_encoder)
    before = searcher.search(Query(examples=(Example(asset_id=1),), limit=50, include_all=True))
    assert len(before.hits) == 4

    saved = generate_into_library(tiny_sd, request(), library, tiny_encoder, brief_id="lisbon-spring")

    assert [s.provenance.seed for s in saved] == [123, 124]
    for item in saved:
        assert item.path.parent == library.path / "generated" / "lisbon-spring"
        with Image.open(item.path) as image:
            stored = json.loads(image.text[PROVENANCE_CHUNK])
        assert stored["brief_id"] == "lisbon-spring" and stored["seed"] == item.provenance.seed
        assert library.catalog.provenance(item.asset.hash)["steps"] == 2
        assert item.asset.generated

    text = Query(parts=parse_text("tram on a sunny Lisbon street"), limit=50, include_all=True)
    everything = searcher.search(text)
    assert {h.asset.id for h in everything.hits} >= {s.asset.id for s in saved}
    assert len(everything.hits) == 6

    only_generated = searcher.search(Query(parts=text.parts, filters=Filters(generated=True), limit=50, include_all=True))
    assert sorted(h.asset.id for h in only_generated.hits) == sorted(s.asset.id for s in saved)
    assert all(h.asset.generated for h in only_generated.hits)
    library_only = searcher.search(Query(parts=text.parts, filters=Filters(generated=False), limit=50, include_all=True))
    assert len(library_only.hits) == 4 and not any(h.asset.generated for h in library_only.hits)

    again = generate_into_library(tiny_sd, request(), library, tiny_encoder, brief_id="lisbon-spring")
    assert [s.path for s in again] == [s.path for s in saved] and not any(s.created for s in again)
    assert len(list((library.path / "generated").rglob("*.png"))) == 2
    assert library.catalog.asset_count() == 6

