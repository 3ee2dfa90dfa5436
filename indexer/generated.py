"""Generated images joining the library: saved with their provenance, then indexed like any photo.

    <library>/generated/<brief id>/<image key>.png

A generated image is written once, as a PNG whose text chunks carry how it was made (one
``scout:provenance`` JSON chunk for machines, and a ``parameters`` chunk in the form common
Stable Diffusion tools show), its provenance is recorded in the catalog under the file's content
hash, and the ``generated`` folder is indexed as an ordinary library root by :class:`IndexRun`.
So thumbnails, search, the roots check of the HTTP server and ``scout reindex`` all treat it like
any other file, while every :class:`~indexer.catalog.AssetRow` of it says ``generated``.

The file name is a hash of the *pixels*, not of the file: the PNG also holds the creation time, so
saving the same picture again (a resumed batch asking for the same seed) finds the first file and
writes nothing, keeping one file, one asset and the first provenance.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from PIL import Image, PngImagePlugin

from indexer.catalog import AssetRow
from indexer.encoders.base import Encoder
from indexer.errors import ScoutError
from indexer.library import Library
from indexer.pipeline import IndexRun, content_hash
from indexer.settings import IndexSettings

GENERATED_DIR = "generated"
PROVENANCE_CHUNK = "scout:provenance"
PARAMETERS_CHUNK = "parameters"
UNASSIGNED = "_unassigned"  # folder for images generated outside any brief
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Provenance:
    """How one image was made. ``extra`` holds what only one backend knows (pipeline class,
    device, the size asked for when the model generated at another)."""

    prompt: str
    generator: str
    model: str
    width: int
    height: int
    negative_prompt: str = ""
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    created_at: float = field(default_factory=time.time)
    brief_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Provenance":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def parameters(self) -> str:
        """The ``parameters`` text other Stable Diffusion tools write and read."""
        lines = [self.prompt]
        if self.negative_prompt:
            lines.append(f"Negative prompt: {self.negative_prompt}")
        settings = [("Steps", self.steps), ("CFG scale", self.guidance), ("Seed", self.seed),
                    ("Size", f"{self.width}x{self.height}"), ("Model", self.model),
                    ("Generator", self.generator), ("Brief", self.brief_id)]
        lines.append(", ".join(f"{name}: {value}" for name, value in settings if value is not None))
        return "\n".join(lines)


@dataclass(frozen=True)
class SavedImage:
    path: Path
    asset: AssetRow
    provenance: Provenance  # as recorded: the first save's, when the image was already there
    created: bool  # False when the same pixels were already in the library


def generated_root(library: Library) -> Path:
    return library.path / GENERATED_DIR


def brief_folder_name(brief_id: str | None) -> str:
    """A brief id as a single safe folder name (ids are user text: never a path)."""
    name = _UNSAFE_NAME.sub("-", brief_id or "").strip(".-")[:80]
    return name or UNASSIGNED


def image_key(image: Image.Image) -> str:
    """128 bits of SHA-256 over mode, size and pixels: the same picture gives the same key."""
    digest = hashlib.sha256(f"{image.mode} {image.width}x{image.height}\n".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()[:32]


def png_with_provenance(image: Image.Image, provenance: Provenance) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text(PROVENANCE_CHUNK, json.dumps(provenance.to_dict(), ensure_ascii=False))
    info.add_text(PARAMETERS_CHUNK, provenance.parameters())
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def read_provenance(path: Path) -> Provenance | None:
    """The provenance stored in a PNG's text chunks, or None for a file without one."""
    with Image.open(path) as image:
        text = getattr(image, "text", {}).get(PROVENANCE_CHUNK)
    if not text:
        return None
    try:
        return Provenance.from_dict(json.loads(text))
    except (ValueError, TypeError):
        return None


def save_generated(library: Library, encoder: Encoder, items: Sequence[tuple[Image.Image, Provenance]],
                   settings: IndexSettings | None = None) -> list[SavedImage]:
    """Write each image under ``generated/<brief>/``, record its provenance, index them all in one
    run, and return them as library assets, in the order given.

    Takes the library's writer lock for the index run (through :class:`IndexRun`), so a caller
    must not hold it.
    """
    root = generated_root(library)
    written: list[tuple[Path, Provenance, bool]] = []
    for image, provenance in items:
        key = image_key(image)
        existing = next(root.glob(f"*/{key}.png"), None)
        if existing is not None:
            written.append((existing, read_provenance(existing) or provenance, False))
            continue
        folder = root / brief_folder_name(provenance.brief_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key}.png"
        # Written beside the catalog, outside every root, so no index run sees it half-written;
        # a unique name, so two processes saving the same picture do not write into one file.
        handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".png.tmp", dir=library.path)
        with os.fdopen(handle, "wb") as out:
            out.write(png_with_provenance(image, provenance))
        os.replace(temporary, path)
        written.append((path, provenance, True))
    with library.writer_lock():  # before indexing: an asset is never visible without its mark
        for path, provenance, _ in written:
            library.catalog.record_provenance(content_hash(path.read_bytes()), provenance.to_dict())
    if written:
        IndexRun(library, encoder, settings).run([root])
    saved = []
    for path, provenance, created in written:
        asset = library.catalog.asset_by_path(str(path.resolve()))
        if asset is None:
            raise ScoutError(
                f"The generated image {path} was saved but could not be indexed.",
                hint="See `scout status` for the failure; the file and its provenance are kept.",
            )
        saved.append(SavedImage(path, asset, provenance, created))
    return saved
