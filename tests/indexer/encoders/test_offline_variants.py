"""The offline model's variants: specs, the libraries they embedded, and their real code paths.

Every variant is reachable as ``offline:<spec>`` and a library stores that model id, so a library
embedded with Scout's first offline model keeps loading it, while new libraries get the new default.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from indexer.decode import decode_image
from indexer.encoders import load_encoder
from indexer.encoders.base import normalize
from indexer.encoders.imagenet_classes import KINDS, class_texts, synonyms
from indexer.encoders.offline import DEFAULT, LEGACY, MODEL_ID, OfflineEncoder, Variant, parse_variant
from indexer.errors import ConfigError, ModelMismatch
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import EncoderOptions
from tests.conftest import REPO, SAMPLE_PHOTOS

HELD_OUT = REPO / "benchmarks" / "offline_eval" / "photos"
LEGACY_ID = "offline:efficientnet_lite0+all-MiniLM-L6-v2/conse-t20"


def test_the_first_offline_models_id_still_names_it():
    assert LEGACY.model_id == LEGACY_ID
    assert parse_variant(LEGACY_ID.removeprefix("offline:")) == LEGACY == parse_variant("lite0")
    assert DEFAULT != LEGACY and MODEL_ID == DEFAULT.model_id and parse_variant("") == DEFAULT


@pytest.mark.parametrize("variant", [
    DEFAULT, LEGACY, Variant("tf_efficientnet_lite1", "synonyms", 5), Variant("tf_efficientnet_lite0", "gloss", 1000),
])
def test_every_model_id_loads_the_model_it_names(variant):
    encoder = load_encoder(variant.model_id, EncoderOptions(device="cpu"))
    assert encoder.model_id == variant.model_id and encoder.variant == variant


@pytest.mark.parametrize("spec", [
    "lite9", "efficientnet_lite2+all-MiniLM-L6-v2/conse-t20",  # PyTorch padding only for the first model
    "tf_efficientnet_lite2+all-MiniLM-L6-v2/conse-t0", "tf_efficientnet_lite2+all-MiniLM-L6-v2/conse-t1001",
    "tf_efficientnet_lite2+all-MiniLM-L6-v2/conse-t20-poems", "tf_efficientnet_lite3+all-MiniLM-L6-v2/conse-t20",
])
def test_unknown_specs_are_refused_with_the_forms_that_work(spec):
    with pytest.raises(ConfigError) as error:
        load_encoder(f"offline:{spec}", EncoderOptions(device="cpu"))
    assert spec in error.value.message and "--model offline" in error.value.hint and "lite0" in error.value.hint


def test_class_texts_carry_synonyms_hypernyms_and_definitions():
    tabby, pickup, pizza = 281, 717, 963
    for kind in KINDS:
        texts = class_texts(kind)
        assert len(texts) == 1000 and all(texts) and all(isinstance(t, str) for per in texts for t in per)
    assert synonyms()[tabby] == ("tabby", "tabby cat")
    assert class_texts("name")[tabby] == ["a photo of a tabby."]
    assert "a close-up photo of a tabby cat." in class_texts("synonyms")[tabby]
    assert class_texts("hypernym")[tabby] == ["a photo of a tabby, a kind of domestic cat."]
    assert class_texts("hypernyms")[pickup][:2] == ["a photo of a pickup, a kind of truck.",
                                                    "a photo of a pickup, a kind of motor vehicle."]
    assert class_texts("hypernyms")[pizza][2] == "a photo of a pizza, a kind of food."
    assert class_texts("gloss")[tabby][0].startswith("a photo of a tabby: a cat with a grey or tawny coat")


def test_a_class_vector_is_the_normalised_mean_of_its_texts(tmp_path):
    encoder = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path), Variant("tf_efficientnet_lite0",
                                                                                       "hypernyms", 20))
    vectors = encoder.class_vectors.numpy()
    assert vectors.shape == (1000, encoder.dim)
    for index in (281, 717):
        texts = class_texts("hypernyms")[index]
        assert len(texts) == 3
        expected = normalize(encoder.encode_texts(texts).mean(0, keepdims=True))[0]
        np.testing.assert_allclose(vectors[index], expected, atol=1e-5)
    again = OfflineEncoder(EncoderOptions(device="cpu", cache_dir=tmp_path), Variant("tf_efficientnet_lite2",
                                                                                     "hypernyms", 50))
    assert np.array_equal(again.class_vectors.numpy(), vectors)  # one cache file per wording, any classifier
    assert len(list((tmp_path / "texts").glob("*.npy"))) == 1


def _top_class(encoder: OfflineEncoder, path) -> tuple[str, torch.Tensor]:
    batch = encoder.preprocess(decode_image(path.read_bytes(), str(path), max_pixels=10**9).image)[None]
    with torch.inference_mode():
        index = int(encoder.classifier(batch).argmax())
    return synonyms()[index][0], batch


def test_the_tensorflow_faithful_classifiers_see_what_the_photo_shows():
    """The weights were trained in TensorFlow (SAME padding, inputs in [-1, 1]); loaded that way,
    Lite0 and Lite2 both call the held-out truck a pickup, which the first model called a jeep."""
    truck = HELD_OUT / "sam-truck.jpg"
    legacy = OfflineEncoder(EncoderOptions(device="cpu"), LEGACY)
    assert _top_class(legacy, truck)[0] == "jeep"
    for arch, size in (("tf_efficientnet_lite0", 224), ("tf_efficientnet_lite2", 260)):
        encoder = OfflineEncoder(EncoderOptions(device="cpu"), Variant(arch))
        name, batch = _top_class(encoder, truck)
        assert name == "pickup" and batch.shape == (1, 3, size, size)
        assert batch.min() >= -1.0 and batch.max() <= 1.0 and batch.min() < -0.5  # (x - 0.5) / 0.5


def test_a_library_of_the_first_model_keeps_searching_and_is_offered_a_reindex(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("tabby-cat-chelsea.png", "spacex-rocket-launch.jpg"):
        shutil.copy(SAMPLE_PHOTOS / name, photos / name)
    library = Library.create_or_open(tmp_path / "lib")
    IndexRun(library, load_encoder("offline:lite0", EncoderOptions(device="cpu"))).run([photos])
    assert library.model_id == LEGACY_ID
    reopened = load_encoder(library.model_id, EncoderOptions(device="cpu"))  # what `scout search` does
    library.check_model(reopened.model_id)
    with pytest.raises(ModelMismatch) as error:
        library.check_model(load_encoder("offline", EncoderOptions(device="cpu")).model_id)
    assert "scout reindex --model " + DEFAULT.model_id in error.value.hint
