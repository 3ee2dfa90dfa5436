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
from indexer.scan import inside


def _confined(library: Library, asset_id: int) -> tuple[AssetRow, Path]:
    """An asset and its real path, refused if that path (through any link) leaves the roots.

    The one rule for every byte served from an asset (original, preview, thumbnail), the same
    the index run applies to links: assets are addressed by id only, so no request path ever
    becomes a file path, and this guards against links placed after indexing.
    """
    asset = library.catalog.asset(asset_id)
    if asset is None:
        raise AssetNotFound(f"No asset with id {asset_id}.")
    real = os.path.realpath(asset.path)
    if not inside(real, [os.path.realpath(r) for r in library.catalog.roots()]):
        raise AccessDenied(f"Asset {asset_id} resolves outside the library's folders.")
    return asset, Path(real)


def original_path(library: Library, asset_id: int) -> tuple[AssetRow, Path]:
    """The file behind an asset id, confined to the library's roots."""
    asset, real = _confined(library, asset_id)
    if not real.is_file():
        raise AssetNotFound(f"Asset {asset_id}'s file is gone from disk ({asset.path}).",
                            hint="Run `scout index` again to drop it from the library.")
    return asset, real


def thumbnail(library: Library, asset_id: int, size: int = 320) -> tuple[bytes | Path, str]:
    """The stored thumbnail, or one made on the spot (not saved: the server never writes)."""
    asset, _ = _confined(library, asset_id)
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
