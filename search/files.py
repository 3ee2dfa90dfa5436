"""Serving an asset's bytes safely: only catalogued files, only inside the library's roots."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from indexer.catalog import AssetRow
from indexer.decode import decode_image
from indexer.errors import AccessDenied, AssetNotFound, DecodeError
from indexer.library import Library


def original_path(library: Library, asset_id: int) -> tuple[AssetRow, Path]:
    """The file behind an asset id, refused if it (or a symlink on its way) leads out of the roots.

    Assets are addressed by id only, so no request path ever becomes a file path; this check
    guards against catalog rows that point through links placed after indexing.
    """
    asset = library.catalog.asset(asset_id)
    if asset is None:
        raise AssetNotFound(f"No asset with id {asset_id}.")
    real = Path(os.path.realpath(asset.path))
    roots = [Path(os.path.realpath(r)) for r in library.catalog.roots()]
    if not any(real == root or root in real.parents for root in roots):
        raise AccessDenied(f"Asset {asset_id} resolves outside the library's folders.")
    if not real.is_file():
        raise AssetNotFound(f"Asset {asset_id}'s file is gone from disk ({asset.path}).",
                            hint="Run `scout index` again to drop it from the library.")
    return asset, real


def thumbnail(library: Library, asset_id: int, size: int = 320) -> tuple[bytes | Path, str]:
    """The stored thumbnail, or one made on the spot (not saved: the server never writes)."""
    asset = library.catalog.asset(asset_id)
    if asset is None:
        raise AssetNotFound(f"No asset with id {asset_id}.")
    stored = library.thumbnail_path(asset.hash)
    if stored.is_file():
        return stored, "image/webp"
    return rendered(library, asset_id, size), "image/webp"


def rendered(library: Library, asset_id: int, size: int) -> bytes:
    """Any catalogued image (TIFF, HEIC, RAW...) as a browser-friendly WebP of ``size`` pixels."""
    _, path = original_path(library, asset_id)
    try:
        decoded = decode_image(None, str(path), max_pixels=400_000_000, target=size)  # streamed
    except DecodeError as exc:
        raise AssetNotFound(f"Asset {asset_id} can no longer be decoded: {exc.message}") from None
    buffer = io.BytesIO()
    decoded.image.thumbnail((size, size), Image.Resampling.BICUBIC)
    decoded.image.save(buffer, "WEBP", quality=85)
    return buffer.getvalue()
