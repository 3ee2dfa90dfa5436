"""Decode baseline JPEGs in batches on the model's device; everything else takes the CPU path.

On a GPU machine the CPU decode is what caps an index run (issue #12: 172 images/s with 16 cores
while the GPU could embed 20,000): a 12 MP camera JPEG costs ~40 CPU-ms even at 1/8 DCT scale.
nvJPEG, through ``torchvision.io.decode_jpeg(list, device="cuda")``, decodes a batch on the GPU.
It takes only what it decodes exactly like the CPU path would: baseline or extended sequential
Huffman JPEGs with 8-bit samples, one (grey) or three (YCbCr) components, no colour profile other
than sRGB, complete (an end marker), within the pixel limit. Everything else (progressive,
arithmetic, lossless or hierarchical coding, CMYK/YCCK, RGB-coded JPEGs, a camera or Display P3
profile, 12-bit samples, cut-off files, other formats) keeps the CPU path
(:func:`indexer.decode.decode_image` and the encoder's own transform), which also owns every
failure message: a file the device cannot decode is handed back, never recorded as failed here.

:func:`inspect_jpeg` reads only the markers before the frame header (plus the last bytes), so
routing costs microseconds. EXIF orientation is parsed from the APP1 segment and applied to the
decoded tensor. The encoder's resize / centre crop / normalise are redone on the tensor
(:class:`TensorPreprocess`, antialiased like PIL), and the thumbnail comes from the same decoded
pixels, so the CPU does no pixel work for these files at all.

The same batched code runs with ``device="cpu"`` (torchvision decodes with libjpeg-turbo), which
is how the tests check it against the CPU path without a GPU.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from indexer.errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE = "device"

# Start-of-frame markers: only 0xC0 (baseline) and 0xC1 (extended sequential) are nvJPEG's and
# libjpeg's common ground with identical output; the rest are named for the route's reason.
_SOF_REASONS = {
    0xC2: "progressive", 0xC3: "lossless", 0xC5: "hierarchical", 0xC6: "hierarchical", 0xC7: "hierarchical",
    0xC9: "arithmetic", 0xCA: "arithmetic", 0xCB: "arithmetic", 0xCD: "arithmetic", 0xCE: "arithmetic",
    0xCF: "arithmetic",
}
_STANDALONE = {0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8}
_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class JpegFrame:
    """What the frame header and the segments before it say about a device-decodable JPEG."""

    width: int  # as stored, before orientation
    height: int
    components: int  # 1 (grey) or 3 (YCbCr)
    orientation: int  # EXIF 1-8 (1 when absent or invalid)

    @property
    def oriented_size(self) -> tuple[int, int]:
        """(width, height) as shown, i.e. what the catalog records."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)

    @property
    def mode(self) -> str:
        return "L" if self.components == 1 else "RGB"


def inspect_jpeg(data: bytes, max_pixels: int | None = None) -> JpegFrame | str:
    """The frame of a JPEG the device can decode, or the reason it takes the CPU path.

    ``data`` is the whole file: the end marker is checked too, because libjpeg pads a cut-off
    file with grey where the CPU path reports it as truncated.
    """
    if not data.startswith(b"\xff\xd8"):
        return "not_jpeg"
    orientation, adobe_transform, icc = 1, None, []
    pos, end = 2, len(data)
    while True:
        if pos + 4 > end:
            return "header_cut"
        if data[pos] != 0xFF:
            return "corrupt_header"
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            return "no_frame_header"
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(segment) < length - 2:
            return "header_cut"
        if marker == 0xE1 and segment.startswith(b"Exif\0\0") and orientation == 1:
            orientation = _exif_orientation(segment[6:])
        elif marker == 0xE2 and segment.startswith(b"ICC_PROFILE\0"):
            icc.append(segment[14:])
        elif marker == 0xEE and segment.startswith(b"Adobe") and len(segment) >= 12:
            adobe_transform = segment[11]
        elif marker in _SOF_REASONS:
            return _SOF_REASONS[marker]
        elif marker in (0xC0, 0xC1):
            return _frame(segment, orientation, adobe_transform, b"".join(icc), data, max_pixels)
        pos += 2 + length


def jpeg_route(data: bytes, max_pixels: int | None = None) -> str:
    """``"device"`` when the file can be decoded on the device, else why it takes the CPU path."""
    found = inspect_jpeg(data, max_pixels)
    return DEVICE if isinstance(found, JpegFrame) else found


def _frame(sof: bytes, orientation: int, adobe_transform: int | None, icc: bytes, data: bytes,
           max_pixels: int | None) -> JpegFrame | str:
    if len(sof) < 6:
        return "header_cut"
    precision, height, width, components = sof[0], *struct.unpack(">HH", sof[1:5]), sof[5]
    if precision != 8:
        return f"{precision}_bit"
    if components == 4:
        return "cmyk"
    if components not in (1, 3):
        return f"{components}_components"
    component_ids = bytes(sof[6 + 3 * i] for i in range(components)) if len(sof) >= 6 + 3 * components else b""
    if components == 3 and (adobe_transform == 0 or component_ids == b"RGB"):
        return "rgb_coded"
    if icc and not _is_srgb(icc):
        return "icc_profile"
    if width == 0 or height == 0:
        return "no_size"
    if max_pixels is not None and width * height > max_pixels:
        return "over_pixel_limit"
    if not data.rstrip(b"\0\r\n ").endswith(b"\xff\xd9"):
        return "no_end_marker"
    return JpegFrame(width, height, components, orientation)


def _is_srgb(profile: bytes) -> bool:
    """An embedded profile that is sRGB (v2 ``desc`` in ASCII, v4 ``mluc`` in UTF-16): converting
    it to sRGB, as the CPU path does, changes nothing worth a CPU decode."""
    return b"sRGB" in profile or "sRGB".encode("utf-16-be") in profile


def _exif_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of IFD0 in a TIFF-structured EXIF block; 1 when absent or malformed."""
    if tiff[:4] == b"II*\0":
        order = "<"
    elif tiff[:4] == b"MM\0*":
        order = ">"
    else:
        return 1
    try:
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag == _ORIENTATION_TAG:
                value = struct.unpack(order + "H", entry[8:10])[0] if kind == 3 else struct.unpack(
                    order + "I", entry[8:12])[0]
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def orient(image: torch.Tensor, orientation: int) -> torch.Tensor:
    """A CHW tensor as displayed: the EXIF orientation's flip / transpose, like PIL's
    ``Image.transpose`` table in :mod:`indexer.decode`."""
    if orientation == 2:
        return image.flip(-1)
    if orientation == 3:
        return image.flip(-1).flip(-2)
    if orientation == 4:
        return image.flip(-2)
    if orientation == 5:
        return image.transpose(-1, -2)
    if orientation == 6:  # rotate 90 degrees clockwise
        return image.transpose(-1, -2).flip(-1)
    if orientation == 7:
        return image.transpose(-1, -2).flip(-1).flip(-2)
    if orientation == 8:  # rotate 90 degrees counter-clockwise
        return image.transpose(-1, -2).flip(-2)
    return image


# -- preprocessing on tensors ---------------------------------------------------------------------


_NO_OPS = {"ToTensor", "MaybeToTensor", "MaybeConvertMode", "_convert_to_rgb", "ConvertImageDtype"}


@dataclass(frozen=True)
class TensorPreprocess:
    """An encoder's PIL transform (Resize -> CenterCrop -> ToTensor -> Normalize) redone on uint8
    CHW tensors on any device. Built by :meth:`from_transform`, which returns None for a transform
    it cannot redo exactly, so an unusual encoder simply keeps the CPU path."""

    size: int | tuple[int, int] | None
    interpolation: Any  # torchvision InterpolationMode
    max_size: int | None
    crop: tuple[int, int] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_transform(cls, transform: Any) -> TensorPreprocess | None:
        from torchvision import transforms as T

        own = _own_eval_transform(transform)
        if own is not None:
            return own
        steps = getattr(transform, "transforms", None)
        if steps is None:
            return None
        size = interpolation = max_size = crop = None
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        for step in steps:
            name = getattr(step, "__name__", type(step).__name__)
            if type(step) is T.Resize and size is None and crop is None:
                size, interpolation, max_size = step.size, step.interpolation, step.max_size
                size = size[0] if isinstance(size, (list, tuple)) and len(size) == 1 else size
                size = tuple(size) if isinstance(size, list) else size
            elif type(step) is T.CenterCrop and crop is None:
                crop = tuple(step.size)
            elif type(step) is T.Normalize:
                mean, std = tuple(map(float, step.mean)), tuple(map(float, step.std))
            elif name not in _NO_OPS:
                return None
        if interpolation not in (T.InterpolationMode.BICUBIC, T.InterpolationMode.BILINEAR, None):
            return None
        return cls(size, interpolation, max_size, crop, mean, std)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """uint8 CHW (RGB) -> the model's normalised float CHW input."""
        import torch
        from torchvision.transforms.v2 import functional as F

        x = image.float()
        if self.size is not None:
            # PIL resizes in uint8: clamp and round like it, so both paths see the same values.
            x = F.resize(x, self.size, self.interpolation, self.max_size, antialias=True).clamp_(0, 255).round_()
        if self.crop is not None:
            x = F.center_crop(x, list(self.crop))
        mean = torch.tensor(self.mean, device=x.device).view(-1, 1, 1) * 255.0
        std = torch.tensor(self.std, device=x.device).view(-1, 1, 1) * 255.0
        return (x - mean) / std


def _own_eval_transform(transform: Any) -> TensorPreprocess | None:
    """The offline model's torchvision-free transform: short side to ``scale`` (bicubic), centre
    crop ``size``, normalise; the same steps as torchvision's Resize + CenterCrop + Normalize."""
    try:
        from indexer.encoders.efficientnet_lite import EvalTransform
    except ImportError:
        return None
    if not isinstance(transform, EvalTransform):
        return None
    from torchvision.transforms import InterpolationMode

    return TensorPreprocess(transform.scale, InterpolationMode.BICUBIC, None, (transform.size, transform.size),
                            tuple(map(float, transform.mean.ravel())), tuple(map(float, transform.std.ravel())))


def thumbnail_size(width: int, height: int, bound: int) -> tuple[int, int]:
    """PIL ``Image.thumbnail``'s size: fit in bound x bound, keep the aspect ratio, never enlarge."""
    if width <= bound and height <= bound:
        return width, height
    if width >= height:
        return bound, max(1, round(height * bound / width))
    return max(1, round(width * bound / height)), bound


# -- the batch ------------------------------------------------------------------------------------


@dataclass
class DeviceImage:
    """One JPEG decoded on the device: the model input (on the device) and the thumbnail pixels."""

    tensor: torch.Tensor  # float CHW, the encoder's input
    thumbnail: np.ndarray | None  # uint8 HWC RGB, longest side <= thumbnail bound


class DeviceDecoder:
    """Decodes routed JPEGs in batches on ``device`` and preprocesses them there.

    ``chunk`` bounds how many full-size images are decoded at once (a 12 MP image is 36 MB of
    pixels on the device). A batch nvJPEG refuses is retried image by image; an image that still
    fails comes back as None, for the caller to send through the CPU path.
    """

    def __init__(self, preprocess: TensorPreprocess, device: str, thumbnail_bound: int | None = 320,
                 chunk: int = 32):
        self.preprocess = preprocess
        self.device = device
        self.thumbnail_bound = thumbnail_bound
        self.chunk = chunk

    @classmethod
    def for_transform(cls, transform: Any, device: str, thumbnail_bound: int | None = 320,
                      chunk: int = 32) -> DeviceDecoder | None:
        preprocess = TensorPreprocess.from_transform(transform)
        return cls(preprocess, device, thumbnail_bound, chunk) if preprocess is not None else None

    def works(self) -> bool:
        """Whether a small JPEG decodes here (a torchvision without nvJPEG raises on CUDA)."""
        from PIL import Image

        probe = io.BytesIO()
        Image.new("RGB", (16, 16), (200, 40, 40)).save(probe, "JPEG")
        data = probe.getvalue()
        frame = inspect_jpeg(data)
        assert isinstance(frame, JpegFrame)
        try:
            return self.decode([(data, frame)])[0] is not None
        except (RuntimeError, ValueError):
            return False

    def decode(self, items: Sequence[tuple[bytes, JpegFrame]]) -> list[DeviceImage | None]:
        out: list[DeviceImage | None] = []
        for start in range(0, len(items), self.chunk):
            chunk = items[start : start + self.chunk]
            for (_, frame), pixels in zip(chunk, self._decode_chunk([data for data, _ in chunk])):
                out.append(None if pixels is None else self._finish(pixels, frame))
        return out

    def _decode_chunk(self, datas: list[bytes]) -> list[torch.Tensor | None]:
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        encoded = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data in datas]
        with warnings.catch_warnings():  # torchvision 0.29 announces decoding's move to TorchCodec
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                return list(decode_jpeg(encoded, mode=ImageReadMode.RGB, device=self.device))
            except RuntimeError:
                pass
            decoded: list[torch.Tensor | None] = []
            for one in encoded:
                try:
                    decoded.append(decode_jpeg([one], mode=ImageReadMode.RGB, device=self.device)[0])
                except RuntimeError:
                    decoded.append(None)
            return decoded

    def _finish(self, pixels: torch.Tensor, frame: JpegFrame) -> DeviceImage | None:
        from torchvision.transforms.v2 import functional as F

        if tuple(pixels.shape[-2:]) != (frame.height, frame.width):
            return None  # the decoder disagrees with the header: let the CPU path judge the file
        shown = orient(pixels, frame.orientation)
        thumbnail = None
        if self.thumbnail_bound:
            w, h = thumbnail_size(shown.shape[-1], shown.shape[-2], self.thumbnail_bound)
            small = F.resize(shown.float(), [h, w], F.InterpolationMode.BICUBIC, antialias=True)
            thumbnail = small.clamp_(0, 255).round_().byte().permute(1, 2, 0).cpu().numpy()
        return DeviceImage(self.preprocess(shown), thumbnail)


# -- choosing it for a run ------------------------------------------------------------------------

# Engines whose prepared items the run's own encoder embeds; an engine that embeds on its workers
# (ray) never sees the device decoder.
DRIVER_EMBEDDING_ENGINES = ("threads", "processes")


def device_decoder_for_run(choice: str, device: str, transform: Any, engine: str,
                           thumbnail_bound: int, chunk: int = 32) -> DeviceDecoder | None:
    """The decoder an index run uses for ``--gpu-decode choice``, or None for the CPU path only.

    ``auto`` is on when the model runs on CUDA, its preprocessing can run on tensors and a probe
    JPEG decodes on that GPU; otherwise off, silently (a CPU run changes nothing). ``on`` says why
    it cannot be on; with a CPU model it runs the same batched path through libjpeg-turbo (slower
    than the CPU path's reduced-size decode: for testing).
    """
    if choice == "off" or (choice == "auto" and not device.startswith("cuda")):
        return None
    if engine not in DRIVER_EMBEDDING_ENGINES:
        if choice == "auto":
            return None
        raise ConfigError(f"--gpu-decode on decodes where the run embeds; the {engine} engine embeds on its workers.",
                          hint="Use --engine threads or processes with --gpu-decode on, or --gpu-decode off.")
    decoder = DeviceDecoder.for_transform(transform, device, thumbnail_bound, chunk)
    if decoder is None:
        if choice == "auto":
            return None
        raise ConfigError("--gpu-decode on: this model's preprocessing cannot run on the GPU "
                          "(only resize, centre crop and normalise can).", hint="Use --gpu-decode off.")
    if device.startswith("cuda") and not decoder.works():
        if choice == "auto":
            return None
        raise ConfigError(f"--gpu-decode on: torchvision cannot decode JPEGs on {device} (no nvJPEG in this build?).",
                          hint="Use --gpu-decode off, or install torchvision built for this CUDA version.")
    return decoder
