"""The review panel's writes: items to rate (AI variants from brief runs, manual baseline work),
the ratings, and the hours manual work took.

Everything lands in the catalog (migration 4) and under ``<library>/reviews/<item id>/``: the
item's image as ``image.jpg`` and each rendered format as ``<W>x<H>.jpg``. Files are copied (and
images re-encoded) into the library so the server serves them by item id, never by a path, and
so a moved or deleted brief-run folder does not break the panel. Every item's files are named
alike whatever its arm, so nothing in a URL or a file gives the arm away before a rating.

Review writes are single short SQLite transactions: they do not take the library's writer lock,
so reviewers can keep rating while an index run is going (SQLite serialises the writes).

Items arrive as :class:`ReviewDraft` records; turning a brief run's manifests into drafts is the
creative pipeline's job (:func:`generation.package.review_drafts`), so this layer knows nothing of
manifests.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from indexer.decode import decode_image
from indexer.scan import inside
from indexer.errors import AssetNotFound, ConfigError, DecodeError, LibraryReadOnly, TooLarge, UnsupportedImage
from indexer.library import Library

ARMS = ("ai_reused", "ai_generated", "manual")
REVIEWS_DIR = "reviews"
IMAGE_FILE = "image.jpg"
MAX_HEADLINE, MAX_BODY = 500, 5000  # characters; the same bounds as manual entry over HTTP
MAX_MACHINE_SECONDS = 7 * 24 * 3600.0
IMAGE_SIDE = 2048  # the largest side kept of an item's image: a review screen, not a print master
MAX_COMMENT = 2000
MAX_HOURS = 1000.0
MAX_SECONDS = 86_400.0
_DESTINATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # the brief id rule: it names folders
_FORMAT = re.compile(r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$")


@dataclass(frozen=True)
class ReviewDraft:
    """One item to put before the panel. ``key`` identifies it across imports (importing the same
    run twice adds nothing); ``image`` and ``renders`` (format -> file) are files to copy in."""

    key: str
    destination: str
    arm: str
    headline: str
    body: str = ""
    cta: str = ""
    provenance: dict = field(default_factory=dict)
    machine_seconds: float = 0.0
    source: str = ""
    image: Path | None = None
    image_asset: int | None = None  # or the image as a catalogued asset (confined to the roots)
    renders: dict[str, Path] = field(default_factory=dict)


@dataclass
class AddResult:
    added: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # already in the catalog from an earlier import


def check_destination(destination: str) -> str:
    if not isinstance(destination, str) or not _DESTINATION.match(destination):
        raise ConfigError(f"Destination {destination!r} is not an id.",
                          hint="Use the brief id: letters, digits, '.', '_' or '-', at most 64 characters.")
    return destination


def check_reviewer(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64 or any(not c.isprintable() for c in name):
        raise ConfigError(f"Reviewer name {name!r} is not usable.",
                          hint="Give a name of 1 to 64 printable characters, e.g. --reviewer ana.")
    return name


def check_hours(hours: float) -> float:
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or math.isnan(hours) \
            or not 0 < hours <= MAX_HOURS:
        raise ConfigError(f"Manual hours {hours!r} are out of range.",
                          hint=f"Enter the hours the manual work took, more than 0 and at most {MAX_HOURS:g}.")
    return float(hours)


class ReviewDesk:
    """Writes of the review panel over a writable library."""

    def __init__(self, library: Library, *, max_pixels: int = 60_000_000):
        if library.catalog.readonly:
            raise LibraryReadOnly("The review panel needs the library open for writing.",
                                  hint="Open it with Library.open(path) rather than readonly=True.")
        self.library, self.max_pixels = library, max_pixels

    @property
    def folder(self) -> Path:
        return self.library.path / REVIEWS_DIR

    def add(self, drafts: list[ReviewDraft]) -> AddResult:
        """Put drafts before the panel; drafts already there (same key) are kept as they are. An
        item whose files were not all copied (a crash mid-import) gets them on the next import."""
        result = AddResult()
        for draft in drafts:  # all checked before any is written: a bad draft leaves no partial import
            _check_draft(draft)
        for draft in drafts:
            catalog = self.library.catalog
            item_id, new = catalog.add_review_item({
                "key": draft.key, "destination": draft.destination, "arm": draft.arm,
                "headline": draft.headline, "body": draft.body, "cta": draft.cta, "provenance": draft.provenance,
                "machine_seconds": draft.machine_seconds, "source": draft.source,
            })
            if new or catalog.review_item(item_id)["image"] is None:
                self._store_files(item_id, draft)
                result.added.append(item_id)
            else:
                result.kept.append(item_id)
        return result

    def add_manual(self, destination: str, images: list[tuple[str, bytes]], headline: str, body: str = "",
                   cta: str = "", hours: float | None = None, source: str = "manual entry") -> AddResult:
        """Manual baseline work: finished ad images (each one a format, named by its pixel size;
        the first is also the item's image) and the copy on them, marked manual. ``hours``, when
        given, is the time the manual work took for this destination."""
        check_destination(destination)
        if hours is not None:
            check_hours(hours)
        if not images:
            raise ConfigError("Manual work needs at least one image.", hint="Pass --image FILE (or upload a file).")
        if not (headline or "").strip():
            raise ConfigError("Manual work needs its headline.", hint="Pass --headline TEXT.")
        folder = Path(tempfile.mkdtemp(prefix=".manual-", dir=self._ensure_folder()))
        try:
            renders: dict[str, Path] = {}
            digest = hashlib.sha256("\0".join([destination, headline, body, cta]).encode())
            for name, data in images:
                size = self._write_image(data, name, folder / f"{len(renders)}.png", fmt="PNG")
                fmt = f"{size[0]}x{size[1]}"
                if fmt in renders:
                    raise ConfigError(f"Two manual images are {fmt}.", hint="Give one image per format.")
                renders[fmt] = folder / f"{len(renders)}.png"
                digest.update(hashlib.sha256(data).digest())
            draft = ReviewDraft(key=f"{destination}:manual:{digest.hexdigest()[:16]}", destination=destination,
                                arm="manual", headline=headline.strip(), body=body.strip(), cta=cta.strip(),
                                provenance={"arm": "manual", "entered_as": source,
                                            "files": [name for name, _ in images]},
                                source=source, image=next(iter(renders.values())), renders=renders)
            result = self.add([draft])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if hours is not None:
            self.set_hours(destination, hours)
        return result

    def set_hours(self, destination: str, hours: float) -> None:
        self.library.catalog.set_manual_hours(check_destination(destination), check_hours(hours))

    def rate(self, item_id: int, reviewer: str, rating: int, approved: bool, comment: str = "",
             seconds: float = 0.0) -> None:
        """Record one reviewer's verdict; rating the same item again replaces the earlier one."""
        reviewer = check_reviewer(reviewer)
        if self.library.catalog.review_item(item_id) is None:
            raise AssetNotFound(f"No review item {item_id}.", hint="`scout review` lists the queue.")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ConfigError(f"Rating {rating!r} is not 1 to 5.", hint="Rate with a whole number from 1 to 5.")
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT:
            raise ConfigError(f"The comment is {len(comment)} characters long.",
                              hint=f"Keep comments under {MAX_COMMENT} characters.")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or math.isnan(seconds) or seconds < 0:
            raise ConfigError(f"Seconds spent {seconds!r} must be 0 or more.", hint="Send the seconds spent rating.")
        self.library.catalog.record_rating({"item_id": item_id, "reviewer": reviewer, "rating": rating,
                                            "approved": bool(approved), "comment": comment,
                                            "seconds": min(float(seconds), MAX_SECONDS)})

    # -- files --------------------------------------------------------------------------------

    def _ensure_folder(self) -> Path:
        self.folder.mkdir(exist_ok=True)
        return self.folder

    def _store_files(self, item_id: int, draft: ReviewDraft) -> None:
        target = self._ensure_folder() / str(item_id)
        target.mkdir(exist_ok=True)
        renders = {}
        for fmt, path in draft.renders.items():
            name = f"{fmt}.jpg"
            self._write_image(None, str(path), target / name)
            renders[fmt] = name
        image = None
        source = self._asset_file(draft.image_asset) if draft.image_asset is not None else draft.image
        if source is not None:
            self._write_image(None, str(source), target / IMAGE_FILE, side=IMAGE_SIDE)
            image = IMAGE_FILE
        self.library.catalog.set_review_files(item_id, image or "", renders)

    def _asset_file(self, asset_id: int) -> Path:
        """A catalogued asset's file, only if its real path lies inside the library's folders: a
        tampered manifest must not make the panel copy (and then serve) any file on disk."""
        asset = self.library.catalog.asset(int(asset_id))
        if asset is None:
            raise ConfigError(f"The chosen image (asset {asset_id}) is not in this library.",
                              hint="Import brief runs made against this library.")
        real = os.path.realpath(asset.path)
        if not inside(real, [os.path.realpath(r) for r in self.library.catalog.roots()]):
            raise ConfigError(f"Asset {asset_id} resolves outside the library's folders.")
        return Path(real)

    def _write_image(self, data: bytes | None, name: str, path: Path, side: int = 8192,
                     fmt: str = "JPEG") -> tuple[int, int]:
        """Decode (size and pixel limits, orientation, sRGB) and write a JPEG (or a lossless PNG
        for files only staged); returns the source image's size (its format, for manual work)."""
        try:
            decoded = decode_image(data, name, max_pixels=self.max_pixels, target=side)
        except DecodeError as exc:
            error = TooLarge if exc.reason == "too_large" else UnsupportedImage
            raise error(f"{Path(name).name}: {exc.message}", hint=exc.hint) from None
        except OSError as exc:
            raise ConfigError(f"Cannot read {name}: {exc.strerror or exc}.",
                              hint="Check the path; run the brief again if its package is incomplete.") from None
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with open(handle, "wb") as out:
                options = {"quality": 92, "subsampling": 0} if fmt == "JPEG" else {}
                decoded.image.save(out, fmt, **options)
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return decoded.width, decoded.height


def _check_draft(draft: ReviewDraft) -> None:
    check_destination(draft.destination)
    if draft.arm not in ARMS:
        raise ConfigError(f"Review item {draft.key!r} has arm {draft.arm!r}.", hint=f"Arms: {', '.join(ARMS)}.")
    if not draft.headline.strip():
        raise ConfigError(f"Review item {draft.key!r} has no headline.", hint="Every item needs its headline.")
    for name, text, limit in (("headline", draft.headline, MAX_HEADLINE), ("body", draft.body, MAX_BODY),
                              ("cta", draft.cta, MAX_HEADLINE)):
        if len(text) > limit:
            raise ConfigError(f"Review item {draft.key!r}: the {name} is {len(text)} characters (at most {limit}).")
    if not (math.isfinite(draft.machine_seconds) and 0 <= draft.machine_seconds <= MAX_MACHINE_SECONDS):
        raise ConfigError(f"Review item {draft.key!r}: machine time {draft.machine_seconds!r} s is not a duration.",
                          hint="A finite number of seconds between 0 and one week.")
    for fmt in draft.renders:
        if not _FORMAT.match(fmt):
            raise ConfigError(f"Render format {fmt!r} of {draft.key!r} is not WxH.", hint="Formats look like 1080x1080.")
