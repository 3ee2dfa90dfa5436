"""What Scout knows of an image: visible labels, dominant colours by name, size and orientation."""

from __future__ import annotations

import pytest
from PIL import Image

from generation.copy import image_facts
from generation.copy.colours import dominant_colours
from indexer.errors import AssetNotFound, ModelMismatch


def test_dominant_colours_are_named_with_their_share():
    image = Image.new("RGB", (100, 100), (250, 250, 250))
    image.paste((30, 60, 190), (0, 0, 60, 100))  # 60 % blue
    image.paste((220, 20, 30), (60, 0, 65, 100))  # 5 % red: too little to count
    colours = dominant_colours(image)
    assert [c.name for c in colours] == ["blue", "white"]
    assert colours[0].share == pytest.approx(0.6, abs=0.03) and colours[1].share == pytest.approx(0.35, abs=0.03)
    assert colours[0].rgb == (30, 60, 190)


def test_the_cat_photo_shows_a_cat_in_brown(sample_facts):
    facts = sample_facts("tabby-cat-chelsea.png")
    names = [label.name for label in facts.labels]
    assert "cat" in names and "rocket" not in names
    assert all(label.z >= 3.0 for label in facts.labels)
    assert facts.colours[0].name == "brown"
    assert (facts.width, facts.height, facts.orientation) == (451, 300, "landscape")
    assert facts.text == "" and "vector" not in facts.to_dict()


def test_facts_need_the_librarys_model_and_a_known_asset(sample_library, offline_encoder, tiny_encoder):
    library, _ = sample_library
    with pytest.raises(ModelMismatch):
        image_facts(library, tiny_encoder, 1)
    with pytest.raises(AssetNotFound):
        image_facts(library, offline_encoder, 99_999)
