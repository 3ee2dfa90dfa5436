"""The checks behind the registry: unknown ones named with the known, nudenet's real detector on
real photos, and the typographic guard painting words out of a picture before it is judged."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.errors import ComponentUnavailable
from indexer.safety import Subject, load_policy
from indexer.safety.checks import SAFETY_CHECKS, _mask_text, load_checks
from tests.conftest import SAMPLE_PHOTOS

FONT = "generation/fonts/DejaVuSans-Bold.ttf"


def test_an_unknown_check_is_a_clear_error_listing_the_known_ones():
    with pytest.raises(ComponentUnavailable) as caught:
        load_checks(["words", "telepathy"], load_policy(), None)
    assert "telepathy" in caught.value.message and "nudity" in caught.value.hint
    assert {"words", "text_similarity", "zero_shot", "nudity"} <= set(SAFETY_CHECKS.names())


def test_checks_that_need_the_model_say_so_without_one():
    with pytest.raises(Exception, match="needs the library's model"):
        load_checks(["zero_shot"], load_policy(), None)


def test_nudenet_finds_no_exposed_body_in_a_portrait_and_reports_nothing():
    (check,) = load_checks(["nudity"], load_policy(), None)
    portrait = Image.open(SAMPLE_PHOTOS / "astronaut-eileen-collins-portrait.png")
    detections = check.detect(portrait)
    assert any(d["class"] == "FACE_FEMALE" for d in detections)  # the detector really ran
    assert check.signals(Subject(image=portrait)) == []


def test_words_on_the_picture_are_painted_over_with_the_colour_around_them():
    image = Image.new("RGB", (400, 200), (30, 120, 200))
    draw = ImageDraw.Draw(image)
    draw.text((50, 60), "GUN", font=ImageFont.truetype(FONT, 60), fill="white")
    box = [[45, 55], [200, 55], [200, 130], [45, 130]]
    masked = np.asarray(_mask_text(image, [{"text": "GUN", "box": box}]))
    assert (np.asarray(image)[55:130, 45:200] == 255).any()  # the word was there
    assert np.abs(masked[55:130, 45:200].astype(int) - (30, 120, 200)).max() <= 2  # and is gone
