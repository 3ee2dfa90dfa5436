"""Turn any supported file into a small, correctly oriented sRGB image, or say precisely why not.

Models look at 224-pixel inputs, so decoding a 24-megapixel camera JPEG at full size wastes most
of the index run: JPEGs are decoded with ``draft()`` (DCT scaling, up to 8x less work per side)
to the smallest size that keeps at least ``target / 2`` pixels on the short side (256 for the
default 512, above every model's 224 input), then bounded to ``target`` on the long side. The pixel limit is checked from
the header before any pixel is decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from indexer.errors import DecodeError
from indexer.scan import is_raw_name, sniff_format

try:  # HEIC/HEIF (iPhone photos) through libheif
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a hard dependency, kept optional here
    pillow_heif = None

_SRGB = ImageCms.createProfile("sRGB")

RAW_HINT = "Export a JPEG/TIFF from your RAW developer, or check the file copied completely."


@dataclass
class DecodedImage:
    image: Image.Image  # RGB, longest side <= the requested target
    width: int  # full-resolution size after EXIF orientation
    height: int
    format: str
    mode: str  # the file's own pixel mode (CMYK, I;16, P, ...) for the catalog


def decode_image(
    data: bytes | None, path: str, *, max_pixels: int, target: int = 512
) -> DecodedImage:
    """Decode ``data``, or the file at ``path`` when ``data`` is None (files too large to hold
    in memory whole: Pillow and LibRaw then read only what they need)."""
    with (io.BytesIO(data) if data is not None else open(path, "rb")) as source:
        head = source.read(32)
        source.seek(0)
        if not head:
            raise DecodeError("empty", "File is empty (0 bytes).",
                              hint="The copy or export failed; copy the original again.")
        fmt = sniff_format(head)
        if is_raw_name(path) or fmt in ("CR3", "RAF", "ORF", "RW2"):
            return _decode_raw(source, max_pixels=max_pixels, target=target)
        return _decode_pillow(source, fmt, max_pixels=max_pixels, target=target)


def _decode_pillow(source: BinaryIO, fmt: str | None, *, max_pixels: int, target: int) -> DecodedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                image = Image.open(source)
            except Image.DecompressionBombError:
                image = _open_past_pillows_limit(source)
    except Image.DecompressionBombError as exc:  # e.g. a GIF frame placed far outside its canvas
        raise DecodeError("too_large", f"Image declares an absurd size ({exc}).",
                          hint="The file is damaged or hostile; re-export it from the source.") from None
    except (ValueError, SyntaxError, EOFError) as exc:  # plugins that trip over their own header
        raise DecodeError("unreadable", f"Cannot read the image header: {exc}.",
                          hint="The file is damaged; restore it from the original.") from None
    except UnidentifiedImageError:
        raise DecodeError(
            "not_an_image",
            "Not an image: the content is not any format Pillow, pillow-heif or rawpy can read"
            + (f" (it starts like {fmt})." if fmt else "."),
            hint="If this is an image in an unusual format, convert it to JPEG, PNG or TIFF.",
        ) from None
    except OSError as exc:
        raise DecodeError("unreadable", f"Cannot read the image header: {exc}.",
                          hint="The file is damaged; restore it from the original.") from None
    return _finish(image, max_pixels=max_pixels, target=target)


def _open_past_pillows_limit(source: BinaryIO) -> Image.Image:
    """``Image.open`` without Pillow's process-wide decompression-bomb check.

    Scout checks its own limit (``max_pixels``, per call) from the header right after opening;
    Pillow's is a global setting that Scout must not change for the rest of the process. Only
    reached for images above Pillow's hard cap (~179 MP), which a user allowed with
    --max-megapixels; the factory loop is what ``Image.open`` itself does.
    """
    Image.init()
    source.seek(0)
    prefix = source.read(16)
    for fmt in Image.ID:
        factory, accept = Image.OPEN[fmt]
        if accept and accept(prefix) is not True:
            continue
        source.seek(0)
        try:
            return factory(source, "")
        except (SyntaxError, IndexError, TypeError, struct.error, OSError):
            continue
    raise UnidentifiedImageError("no Pillow plugin accepts this file")


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise DecodeError(
            "too_large",
            f"Image is {width}x{height} = {width * height / 1e6:.0f} megapixels, over the "
            f"{max_pixels / 1e6:.0f} MP limit (a decompression bomb or an absurd export).",
            hint="If the image is genuine, raise the limit with --max-megapixels.",
        )


def _finish(image: Image.Image, *, max_pixels: int, target: int) -> DecodedImage:
    fmt = image.format or "UNKNOWN"
    mode = image.mode
    _check_pixels(image.width, image.height, max_pixels)
    full_w, full_h = image.size
    if fmt == "JPEG":
        image.draft("RGB", (target // 2, target // 2))
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise DecodeError("too_large", f"Image declares an absurd size ({exc}).",
                          hint="The file is damaged or hostile; re-export it from the source.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        text = str(exc)
        if "truncated" in text or "broken data stream" in text or isinstance(exc, EOFError):
            raise DecodeError("truncated", f"Image data ends early ({text}).",
                              hint="The file was cut off while copying or downloading; "
                              "copy it again from the original.") from None
        raise DecodeError("decode_failed", f"Pixel data cannot be decoded ({text}).",
                          hint="The file is damaged; re-export it from the source.") from None
    exif_orientation = _exif_orientation(image)
    image = _to_srgb(_shrink(image, target))
    if exif_orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[exif_orientation])
    if exif_orientation in (5, 6, 7, 8):
        full_w, full_h = full_h, full_w
    image.thumbnail((target, target), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return DecodedImage(image=image, width=full_w, height=full_h, format=fmt, mode=mode)


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _shrink(image: Image.Image, target: int) -> Image.Image:
    """Reduce a large decoded image by an integer factor *before* any colour conversion, so no
    full-size copy is ever made after the decoder's own buffer (a 16-bit 7700x7700 PNG used to
    cost a gigabyte in float64 copies). Keeps at least twice ``target`` on the long side for the
    final high-quality resize; JPEGs arrive already reduced by ``draft()``."""
    factor = max(image.size) // (2 * target)
    if factor < 2:
        return image
    if image.mode.startswith("I;16"):  # reduce() has no 16-bit integer kernel; sampling does
        small = image.resize((max(1, image.width // factor), max(1, image.height // factor)),
                             Image.Resampling.NEAREST)
        small.info = dict(image.info)
        return small
    try:
        small = image.reduce(factor)
    except ValueError:  # modes reduce() lacks (P, 1, ...) are converted at full size
        return image
    small.info = dict(image.info)
    return small


def _exif_orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def _to_srgb(image: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB: ICC profiles honoured, transparency on white, 16-bit scaled."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = _high_bit_depth_to_l(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(canvas, rgba).convert("RGB")
    if icc and image.mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken embedded profile is common; fall back to the plain conversion
    return image.convert("RGB")


def _high_bit_depth_to_l(image: Image.Image) -> Image.Image:
    """Scale 16-bit / 32-bit / float greyscale into 0-255 instead of clipping at 255."""
    array = np.asarray(image).astype(np.float32)
    if image.mode == "F":
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        array = (array - lo) / (hi - lo or 1.0) * 255.0
    elif image.mode.startswith("I;16") or array.max() > 255:
        array = array / 257.0
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "L")


def _decode_raw(source: BinaryIO, *, max_pixels: int, target: int) -> DecodedImage:
    """Camera RAW: the embedded JPEG preview when there is one (fast, camera colours), else a
    half-size demosaic."""
    try:
        import rawpy
    except ImportError:  # pragma: no cover
        raise DecodeError("decode_failed", "rawpy is not installed, camera RAW cannot be read.",
                          hint="pip install rawpy") from None
    try:
        raw = rawpy.imread(source)
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise DecodeError("not_an_image", f"Not a camera RAW file LibRaw can read ({exc}).",
                          hint=RAW_HINT) from None
    with raw:
        width, height = raw.sizes.width, raw.sizes.height
        flip = raw.sizes.flip
        if flip in (5, 6):
            width, height = height, width
        _check_pixels(width, height, max_pixels)
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawError, OSError, ValueError):
            thumb = None
        if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
            preview = Image.open(io.BytesIO(thumb.data))
            preview.draft("RGB", (target // 2, target // 2))
            preview = _to_srgb(ImageOps.exif_transpose(preview))
            preview = _apply_raw_flip(preview, flip) if _exif_orientation(preview) == 1 else preview
        elif thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
            preview = _apply_raw_flip(Image.fromarray(thumb.data).convert("RGB"), flip)
        else:
            try:
                rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
            except (rawpy.LibRawError, OSError, ValueError) as exc:
                raise DecodeError("decode_failed", f"RAW data cannot be developed ({exc}).",
                                  hint=RAW_HINT) from None
            preview = Image.fromarray(rgb)
    preview.thumbnail((target, target), Image.Resampling.BICUBIC)
    return DecodedImage(image=preview, width=width, height=height, format="RAW", mode="RAW")


def _apply_raw_flip(image: Image.Image, flip: int) -> Image.Image:
    if flip == 3:
        return image.rotate(180, expand=True)
    if flip == 5:
        return image.rotate(90, expand=True)
    if flip == 6:
        return image.rotate(-90, expand=True)
    return image
