"""What an index run does to one changed file before the model sees it: read, hash, sniff,
decode, preprocess, thumbnail.

This is the per-file work every index engine (threads, processes, a Ray cluster; see
:mod:`indexer.engines`) runs, so one code path decides what a file becomes whatever runs it.
:class:`Preparer` therefore holds no catalog and no model weights, only the encoder's image
transform, and pickles: a worker process or a Ray task gets a copy. :class:`Prepared` is what
comes back to the driver, which stays the one catalog writer.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from indexer.catalog import FileWrite
from indexer.decode import DecodedImage, decode_image
from indexer.device_decode import JpegFrame, inspect_jpeg
from indexer.errors import DecodeError, ScoutError
from indexer.library import thumbnail_relpath
from indexer.scan import looks_like_image_name, sniff_format
from indexer.settings import IndexSettings

# Files above this are hashed while streaming and decoded from disk, never held whole in memory
# (an agency's layered 2 GB TIFF must not multiply by the number of files in flight).
LARGE_FILE_BYTES = 64 * 1024 * 1024


def content_hash(data: bytes) -> str:
    """128 bits of SHA-256: hardware-accelerated here (2.7 ms for a 4 MB JPEG, BLAKE2b 7.1 ms)."""
    return hashlib.sha256(data).hexdigest()[:32]


def read_and_hash(path: str, size: int) -> tuple[bytes | None, bytes, str]:
    """(whole content or None for large files, first bytes, content hash)."""
    with open(path, "rb") as handle:
        if size <= LARGE_FILE_BYTES:
            data = handle.read()
            return data, data[:32], content_hash(data)
        head = handle.read(32)
        handle.seek(0)
        return None, head, hashlib.file_digest(handle, "sha256").hexdigest()[:32]


@dataclass
class Prepared:
    """One changed file, ready for the driver: embed it (``tensor``), store it (``vector``, when
    the engine embedded it already), reuse a known content, or record why not."""

    file: FileWrite
    kind: str  # "decoded" | "reused" | "failed" | "ignored"
    hash: str = ""
    tensor: Any = None  # the model's input (CHW), when the driver embeds
    vector: Any = None  # np.float32 (dim,), when the engine embedded remotely
    format: str = ""
    width: int = 0
    height: int = 0
    mode: str = ""
    thumbnail: str | None = None  # library-relative path, already written
    thumbnail_data: bytes | None = None  # WEBP bytes for the driver to write (workers off the library)
    error: DecodeError | None = None
    jpeg: bytes | None = None  # the file, when the driver decodes it on the model's device
    frame: JpegFrame | None = None  # what its header says (size, components, EXIF orientation)

    def portable(self) -> Prepared:
        """Ready to leave this process: the model input as a numpy array (plain bytes, whatever
        torch the receiver has; a pickled torch tensor would travel as a shared-memory handle)."""
        if self.tensor is not None and hasattr(self.tensor, "numpy"):
            self.tensor = self.tensor.numpy()
        return self


Transform = Callable[[Image.Image], Any]


class LazyTransform:
    """An encoder's image transform, fetched on the first image: a run with nothing new never
    loads the image side of a model (the offline model's classifier, say). Pickled, it carries
    the transform alone, never the encoder and its weights; encoders without ``image_transform()``
    are used through their ``preprocess`` method."""

    def __init__(self, encoder: Any):
        self._encoder = encoder
        self._transform: Transform | None = None

    def resolve(self) -> Transform:
        if self._transform is None:
            offered = getattr(self._encoder, "image_transform", None)
            self._transform = offered() if callable(offered) else self._encoder.preprocess
        return self._transform

    def __call__(self, image: Image.Image) -> Any:
        return self.resolve()(image)

    def __getstate__(self) -> dict:
        return {"_encoder": None, "_transform": self.resolve()}


class Preparer:
    """What one worker does for one changed file. A file's own problem becomes a "failed" item,
    never an exception; only a fault of the run itself (the model cannot load, a precision the
    device refuses: a :class:`ScoutError` that is not a decode error) is raised, and stops it.

    ``library_dir`` is where thumbnails are written; ``None`` returns their bytes instead (a
    worker on another machine cannot reach the library). ``known_hashes`` are contents the
    catalog already has a vector for: such a file is recorded without decoding. The run fills
    the set before the first file; engines that copy the preparer copy it then.

    ``route_jpegs`` hands the JPEGs the model's device can decode back undecoded (``jpeg`` and
    ``frame`` set, no tensor): the run decodes them there in batches (:mod:`indexer.device_decode`),
    so a worker only reads, hashes and parses the header of those.
    """

    def __init__(self, transform: Transform, library_dir: Path | None, settings: IndexSettings,
                 known_hashes: set[str] | None = None, route_jpegs: bool = False):
        self.transform = transform
        self.library_dir = library_dir
        self.settings = settings
        self.known_hashes: set[str] = known_hashes if known_hashes is not None else set()
        self.route_jpegs = route_jpegs

    def ready(self) -> Preparer:
        """Load a lazy transform now: before forking workers that would each load it."""
        resolve = getattr(self.transform, "resolve", None)
        if callable(resolve):
            self.transform = resolve()
        return self

    def __call__(self, file: FileWrite) -> Prepared:
        try:
            data, head, digest = read_and_hash(file.path, file.size)
        except OSError as exc:
            # Recorded without the scan's stat: fixing permissions or remounting a drive leaves
            # size and mtime as they were, and the next run must still try the file again.
            return Prepared(FileWrite(file.path, file.root, -1, -1), "failed", error=DecodeError(
                "unreadable", f"Cannot read the file: {exc.strerror}.",
                hint="Check permissions and that the drive is still mounted; the next run tries again."))
        if sniff_format(head) is None and not looks_like_image_name(file.path):
            return Prepared(file, "ignored")
        if digest in self.known_hashes:
            return Prepared(file, "reused", hash=digest)
        if self.route_jpegs and data is not None:
            frame = inspect_jpeg(data, self.settings.max_pixels)
            if isinstance(frame, JpegFrame):
                width, height = frame.oriented_size
                return Prepared(file, "decoded", hash=digest, format="JPEG", width=width, height=height,
                                mode=frame.mode, jpeg=data, frame=frame)
        return self.decode_on_cpu(file, data, digest)

    def decode_on_cpu(self, file: FileWrite, data: bytes | None, digest: str) -> Prepared:
        """The CPU path for one file already read and hashed (also the fallback for a JPEG the
        device refused); the item is "decoded" or "failed"."""
        try:
            decoded = decode_image(
                data, file.path, max_pixels=self.settings.max_pixels, target=self.settings.decode_size
            )
            tensor = self.transform(decoded.image)
        except DecodeError as exc:
            return Prepared(file, "failed", error=exc)
        except ScoutError:
            # The transform loads the model on the first image (a library that knows its model):
            # missing weights or a precision the device refuses are the run's fault, not the
            # file's, and recorded as a file failure they would hide it until it changed.
            raise
        except Exception as exc:  # a codec bug must cost one file, not the run
            return Prepared(file, "failed", error=DecodeError(
                "decode_failed", f"Decoder crashed: {type(exc).__name__}: {exc}.",
                hint="Re-export the file; if many files fail like this, report it."))
        prepared = Prepared(file, "decoded", hash=digest, tensor=tensor, format=decoded.format,
                            width=decoded.width, height=decoded.height, mode=decoded.mode)
        if self.library_dir is None:
            prepared.thumbnail_data = self._thumbnail_bytes(decoded)
        else:
            prepared.thumbnail = write_thumbnail(self.library_dir, digest, self._thumbnail_bytes, decoded)
        return prepared

    def _thumbnail_bytes(self, decoded: DecodedImage) -> bytes:
        """Thumbnails are made now, from pixels already decoded, so the web grid never decodes
        originals."""
        thumb = decoded.image.copy()
        thumb.thumbnail((self.settings.thumbnail_size, self.settings.thumbnail_size))
        return webp_bytes(thumb)


def webp_bytes(thumb: Image.Image) -> bytes:
    """A thumbnail-sized image as the library stores it."""
    out = io.BytesIO()
    thumb.save(out, "WEBP", quality=80, method=0)  # method 0: 4.5 ms, not 10.5 ms
    return out.getvalue()


def write_thumbnail(library_dir: Path, digest: str, make: Callable[[Any], bytes] | bytes,
                    decoded: Any = None) -> str | None:
    """Write ``<library>/thumbs/ab/<hash>.webp`` atomically (``make(decoded)`` or given bytes) and
    return its library-relative path. A thumbnail that exists is kept; losing one (disk full) is
    not worth failing the file for."""
    relative = thumbnail_relpath(digest)
    target = library_dir / relative
    if target.is_file():
        return relative
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{id(decoded)}.tmp")
    try:
        data = make if isinstance(make, bytes) else make(decoded)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return relative
    except OSError:
        tmp.unlink(missing_ok=True)  # a half-written file on a full disk
        return None
