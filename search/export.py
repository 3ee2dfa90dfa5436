"""The catalog as flat records, for ``scout export csv|json`` and the XMP sidecars: file facts,
embedded metadata and confirmed tags, read in batches so any library size fits in memory.

Also the one rule for CSV cells Scout writes (here and in the review report): text that starts
like a spreadsheet formula is made text.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from typing import Iterator, TextIO

from indexer.library import Library
from indexer.tagging.tagger import stored_taxonomy

MEDIA_FIELDS = ("camera", "lens", "has_gps", "latitude", "longitude", "title", "description", "creator", "copyright",
                "usage_terms", "rating", "rights")
EXPORT_FIELDS = ["id", "path", "format", "width", "height", "bytes", "hash", "generated", "captured_at", *MEDIA_FIELDS,
                 "keywords", "tags"]
_BATCH = 500


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet shows as text: typed-in strings that start like a formula
    (=, +, -, @, tab, CR) get a leading apostrophe (OWASP's CSV-injection rule)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def tag_parents(library: Library) -> dict[str, str | None]:
    """Each tag's parent in the taxonomy the library was last tagged with (the sidecar hierarchy)."""
    taxonomy = stored_taxonomy(library)
    return {tag.name: tag.parent for tag in taxonomy.tags} if taxonomy else {}


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat() if seconds is not None else None


def export_records(library: Library) -> Iterator[dict]:
    """One flat record per asset: file facts, embedded metadata and confirmed tags."""
    batch: list = []

    def flush():
        tags = library.catalog.accepted_tags_by_hash([asset.hash for asset, _ in batch])
        for asset, media in batch:
            yield {
                "id": asset.id, "path": asset.path, "format": asset.format, "width": asset.width,
                "height": asset.height, "bytes": asset.size, "hash": asset.hash, "generated": asset.generated,
                "captured_at": _iso(media.captured_at) if media else None,
                **{name: getattr(media, name) if media else None for name in MEDIA_FIELDS},
                "keywords": list(media.keywords) if media else [],
                "tags": tags.get(asset.hash, []),
            }

    for row in library.catalog.export_rows():
        batch.append(row)
        if len(batch) == _BATCH:
            yield from flush()
            batch = []
    yield from flush()


def write_csv(library: Library, handle: TextIO) -> None:
    """Every asset as one CSV row (lists joined with "; ")."""
    writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in export_records(library):
        writer.writerow({k: spreadsheet_safe("; ".join(v) if isinstance(v, list) else v) for k, v in record.items()})


def write_json(library: Library, handle: TextIO) -> None:
    """Every asset as a JSON array of objects, written as it is read."""
    handle.write("[")
    for number, record in enumerate(export_records(library)):
        handle.write(("," if number else "") + "\n" + json.dumps(record, ensure_ascii=False))
    handle.write("\n]\n")
