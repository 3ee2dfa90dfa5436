"""The perceptual-hash pass: one 64-bit pHash per content, stable under resizing and
recompression, far apart for different pictures, failures recorded once."""

from __future__ import annotations

from PIL import Image

from indexer.passes import run_pass
from indexer.perceptual import PHASH, PerceptualPass, hamming
from tests.conftest import index_folder, pattern_image


def test_copies_hash_close_and_different_pictures_far(tmp_path, tiny_encoder):
    photos = tmp_path / "photos"
    photos.mkdir()
    big = pattern_image(3, (480, 320))
    big.save(photos / "original.png")
    big.resize((240, 160), Image.Resampling.LANCZOS).save(photos / "half.jpg", quality=40)
    big.transpose(Image.Transpose.ROTATE_90).save(photos / "rotated.png")
    pattern_image(4, (480, 320)).save(photos / "other.png")
    (photos / "broken.jpg").write_bytes((photos / "half.jpg").read_bytes()[:400])  # a failed file: no pass
    library, result = index_folder(tmp_path / "lib", [photos], tiny_encoder, passes=[PerceptualPass()])
    assert {s.name: s.done for s in result.passes} == {"perceptual": 4}
    values = library.catalog.perceptual_values(PHASH)

    def value(name):
        return values[library.catalog.asset_by_path(str(photos / name)).hash]

    assert hamming(value("original.png"), value("half.jpg")) <= 6
    assert hamming(value("original.png"), value("other.png")) >= 16
    assert hamming(value("original.png"), value("rotated.png")) >= 16  # a rotation is another picture
    assert run_pass(library, PerceptualPass()).total == 0


def test_a_content_that_no_longer_decodes_is_recorded_with_its_error(tmp_path, tiny_encoder):
    photos = tmp_path / "photos"
    photos.mkdir()
    pattern_image(1).save(photos / "a.png")
    library, _ = index_folder(tmp_path / "lib", [photos], tiny_encoder)

    class Failing(PerceptualPass):
        def process(self, item):
            raise OSError("disk hiccup")

    assert run_pass(library, Failing()).failed == 1
    row = library.catalog.db.execute("SELECT value, error FROM perceptual").fetchone()
    assert row == ("", "OSError: disk hiccup")
    assert library.catalog.perceptual_values(PHASH) == {}
    assert run_pass(library, PerceptualPass()).total == 0  # not retried until the method changes
