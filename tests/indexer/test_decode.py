"""Every supported format decodes to correct RGB pixels; every broken-file class gets its reason."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from indexer.decode import decode_image
from indexer.errors import DecodeError

RED = (220, 30, 30)
MAX = 50_000_000


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kw)
    return buffer.getvalue()


def center(decoded) -> tuple[int, int, int]:
    image = decoded.image
    return image.getpixel((image.width // 2, image.height // 2))


def close_to(pixel, expected, tol=24) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(pixel, expected))


@pytest.mark.parametrize(
    "fmt, name, kw",
    [
        ("JPEG", "x.jpg", {"quality": 95}),
        ("PNG", "x.png", {}),
        ("WEBP", "x.webp", {"quality": 95}),
        ("TIFF", "x.tif", {}),
        ("BMP", "x.bmp", {}),
        ("JPEG2000", "x.jp2", {}),
        ("PPM", "x.ppm", {}),
        ("HEIF", "x.heic", {"quality": 95}),
    ],
)
def test_formats_decode_to_the_right_colour(fmt, name, kw):
    data = encoded(Image.new("RGB", (120, 80), RED), fmt, **kw)
    decoded = decode_image(data, name, max_pixels=MAX)
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (120, 80)
    assert close_to(center(decoded), RED), (fmt, center(decoded))


def test_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (40, 40), c) for c in (RED, (20, 20, 230))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert close_to(center(decode_image(data, "a.gif", max_pixels=MAX)), RED)


def test_greyscale_and_pgm_become_rgb():
    grey = Image.new("L", (50, 50), 128)
    for fmt, name in (("PNG", "g.png"), ("PPM", "g.pgm")):
        decoded = decode_image(encoded(grey, fmt), name, max_pixels=MAX)
        assert decoded.image.mode == "RGB" and close_to(center(decoded), (128, 128, 128), 2)


def test_cmyk_jpeg_converts_to_rgb():
    cmyk = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # pure red in CMYK
    decoded = decode_image(encoded(cmyk, "JPEG", quality=95), "c.jpg", max_pixels=MAX)
    assert decoded.mode == "CMYK"
    r, g, b = center(decoded)
    assert r > 200 and g < 60 and b < 60


def test_sixteen_bit_png_is_scaled_not_clipped():
    array = np.full((40, 40), 32768, dtype=np.uint16)  # mid grey in 16 bits
    data = encoded(Image.fromarray(array), "PNG")
    decoded = decode_image(data, "deep.png", max_pixels=MAX)
    assert close_to(center(decoded), (128, 128, 128), 3), center(decoded)


def test_palette_transparency_lands_on_white():
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.info["transparency"] = 0  # index 0 (black) is transparent
    decoded = decode_image(encoded(image, "PNG", transparency=0), "p.png", max_pixels=MAX)
    assert close_to(center(decoded), (255, 255, 255), 2)


def test_rgba_transparency_lands_on_white():
    image = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    decoded = decode_image(encoded(image, "PNG"), "a.png", max_pixels=MAX)
    assert close_to(center(decoded), (255, 255, 255), 2)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (200, 100), RED)
    image.paste((10, 10, 240), (0, 0, 100, 100))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    decoded = decode_image(encoded(image, "JPEG", exif=exif, quality=95), "o.jpg", max_pixels=MAX)
    assert (decoded.width, decoded.height) == (100, 200)
    assert decoded.image.size[0] < decoded.image.size[1]
    top = decoded.image.getpixel((decoded.image.width // 2, 5))
    assert close_to(top, (10, 10, 240), 40), top  # the blue half is now on top


def test_large_jpeg_is_decoded_at_reduced_size():
    big = Image.new("RGB", (4000, 3000), RED)
    decoded = decode_image(encoded(big, "JPEG"), "big.jpg", max_pixels=MAX, target=512)
    assert (decoded.width, decoded.height) == (4000, 3000)  # catalog keeps the real size
    assert max(decoded.image.size) <= 512


def test_camera_raw_is_developed(tmp_path):
    # A minimal linear DNG (TIFF + DNG tags) that LibRaw accepts; no embedded preview.
    array = np.zeros((64, 96, 3), np.uint8)
    array[...] = (200, 40, 40)
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, value, kind in (
        (50706, bytes([1, 4, 0, 0]), 1), (50708, "Scout Test Camera", 2),
        (50721, (1, 0, 0, 0, 1, 0, 0, 0, 1), 10), (50728, (1, 1, 1), 5),
    ):
        ifd[tag] = value
        ifd.tagtype[tag] = kind
    ifd[262] = 34892
    data = encoded(Image.fromarray(array, "RGB"), "TIFF", tiffinfo=ifd)
    decoded = decode_image(data, "shot.dng", max_pixels=MAX)
    assert decoded.format == "RAW" and (decoded.width, decoded.height) == (96, 64)
    r, g, b = center(decoded)
    assert r > g and r > b


def test_garbage_named_raw_is_not_an_image():
    with pytest.raises(DecodeError) as info:
        decode_image(b"not a raw file at all" * 10, "shot.nef", max_pixels=MAX)
    assert info.value.reason == "not_an_image"


def _png_header_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(DecodeError) as info:
        decode_image(_png_header_claiming(100_000, 100_000), "bomb.png", max_pixels=MAX)
    assert info.value.reason == "too_large"
    assert "10000 megapixels" in info.value.message and "--max-megapixels" in info.value.hint


def test_pixel_limit_is_configurable():
    data = encoded(Image.new("RGB", (2000, 1000)), "PNG")
    with pytest.raises(DecodeError) as info:
        decode_image(data, "x.png", max_pixels=1_000_000)
    assert info.value.reason == "too_large"
    assert decode_image(data, "x.png", max_pixels=3_000_000).width == 2000


@pytest.mark.parametrize(
    "data, name, reason",
    [
        (b"", "empty.jpg", "empty"),
        (b"just some text, not pixels\n" * 4, "fake.png", "not_an_image"),
    ],
)
def test_broken_files_get_specific_reasons(data, name, reason):
    with pytest.raises(DecodeError) as info:
        decode_image(data, name, max_pixels=MAX)
    assert info.value.reason == reason
    assert info.value.hint


def test_truncated_jpeg_is_reported_as_truncated():
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 255, (300, 300, 3), dtype=np.uint8))
    data = encoded(noise, "JPEG", quality=90)
    with pytest.raises(DecodeError) as info:
        decode_image(data[: len(data) // 2], "cut.jpg", max_pixels=MAX)
    assert info.value.reason == "truncated"


def test_truncated_png_is_reported():
    noise = Image.fromarray(np.random.default_rng(2).integers(0, 255, (200, 200, 3), dtype=np.uint8))
    data = encoded(noise, "PNG")
    with pytest.raises(DecodeError) as info:
        decode_image(data[: len(data) // 2], "cut.png", max_pixels=MAX)
    assert info.value.reason in ("truncated", "decode_failed")


def test_draft_decoding_keeps_the_embedding(offline_encoder):
    """Reduced-size JPEG decoding must not change what the model sees in any way that matters."""
    import torch

    from tests.conftest import SAMPLE_PHOTOS

    photo = Image.open(SAMPLE_PHOTOS / "chinese-temple-summer-palace.jpg").convert("RGB")
    big = encoded(photo.resize((3200, 2136), Image.Resampling.BICUBIC), "JPEG", quality=92)
    fast = decode_image(big, "big.jpg", max_pixels=MAX, target=512).image
    full = Image.open(io.BytesIO(big)).convert("RGB")
    full.thumbnail((512, 512), Image.Resampling.LANCZOS)
    vectors = offline_encoder.encode_images(torch.stack([offline_encoder.preprocess(i) for i in (fast, full)]))
    assert float(vectors[0] @ vectors[1]) > 0.97


def test_a_16_bit_giant_decodes_within_a_memory_budget(tmp_path):
    """Issue 13 #3: a 115 KB 16-bit 7700x7700 PNG used to take 1 GB of float64 copies. Measured
    in a fresh process (peak RSS) against the same process decoding a small image."""
    import subprocess
    import sys

    giant = tmp_path / "giant16.png"
    Image.fromarray(np.full((7700, 7700), 40_000, dtype=np.uint16)).save(giant)
    script = (
        "import resource, sys\n"
        "from indexer.decode import decode_image\n"
        "decode_image(None, sys.argv[1], max_pixels=60_000_000, target=512)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "d = decode_image(open(sys.argv[2], 'rb').read(), sys.argv[2], max_pixels=60_000_000, target=512)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(after - before, d.image.size, d.image.getpixel((5, 5)))\n"
    )
    small = tmp_path / "small.png"
    Image.fromarray(np.full((64, 64), 40_000, dtype=np.uint16)).save(small)
    out = subprocess.run([sys.executable, "-c", script, str(small), str(giant)], capture_output=True,
                         text=True, check=True).stdout.split(" ", 1)
    growth_mb = int(out[0]) / 1024
    # The decoder's own 16-bit buffer is 113 MB; everything after it must be small.
    assert growth_mb < 300, f"peak RSS grew by {growth_mb:.0f} MB"
    assert "(512, 512)" in out[1] and "(155, 155, 155)" in out[1]  # 40000/257 = 155.6: scaled, not clipped
