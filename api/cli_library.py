"""``scout duplicates`` and ``scout export xmp|csv|json``: the librarian's commands.

Neither deletes nor changes an original: duplicates only suggests a keeper per cluster, and the
XMP export writes sidecars next to the files (merging with sidecars already there).
"""

from __future__ import annotations

import csv
import json
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional, TextIO

import typer

from api.cli_common import LibraryOpt, err, handles_errors, library_path, out
from indexer.errors import ConfigError
from indexer.library import Library


@handles_errors
def duplicates(
    library: Optional[Path] = LibraryOpt,
    min_similarity: float = typer.Option(None, "--min-similarity",
                                         help="Cosine floor for candidate pairs (default: search.duplicates)."),
    max_hamming: int = typer.Option(None, "--max-hamming", help="Most pHash bits two copies may differ by (0-32)."),
    exact_only: bool = typer.Option(False, "--exact", help="Only identical files (same content) at several paths."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find exact and near-duplicate images, grouped, each group with a suggested keeper. Deletes nothing."""
    from search.duplicates import DuplicateSettings, cluster_json, find_duplicates

    defaults = DuplicateSettings()
    settings = DuplicateSettings(
        min_similarity=defaults.min_similarity if min_similarity is None else min_similarity,
        max_hamming=defaults.max_hamming if max_hamming is None else max_hamming,
        exact_only=exact_only)
    report = find_duplicates(Library.open(library_path(library), readonly=True), settings)
    if as_json:
        out.print_json(data={"clusters": [cluster_json(c) for c in report.clusters], "contents": report.contents,
                             "unhashed": report.unhashed})
        return
    for number, cluster in enumerate(report.clusters, start=1):
        out.print(f"[bold]#{number} {cluster.kind}[/] keep [green]{cluster.keeper.path}[/] ({cluster.reason})",
                  highlight=False)
        for member in cluster.members[1:]:
            how = "same bytes" if member.relation == "exact" else (
                f"cosine {member.similarity:.3f}, {member.hamming} bits" if member.hamming is not None else "")
            out.print(f"    {member.asset.width}x{member.asset.height}  {member.asset.path}  [dim]{how}[/]",
                      highlight=False)
    extra = sum(len(c.members) - 1 for c in report.clusters)
    err.print(f"{len(report.clusters)} clusters, {extra} files besides the keepers, among {report.contents} "
              "distinct images. Nothing was deleted.", highlight=False)
    if report.unhashed:
        err.print(f"[yellow]note:[/] {report.unhashed} images have no perceptual hash yet, so their near-duplicates "
                  "are not confirmed; `scout index` computes them.", highlight=False)


export_app = typer.Typer(help="Export the catalog (csv, json) or write XMP sidecars for other tools.",
                         no_args_is_help=True)


def _tag_parents(library: Library) -> dict[str, str | None]:
    """Each tag's parent in the taxonomy the library was last tagged with (the sidecar hierarchy)."""
    from indexer.tagging.tagger import stored_taxonomy

    taxonomy = stored_taxonomy(library)
    return {tag.name: tag.parent for tag in taxonomy.tags} if taxonomy else {}


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat() if seconds is not None else None


MEDIA_FIELDS = ("camera", "lens", "has_gps", "latitude", "longitude", "title", "description", "creator", "copyright",
                "usage_terms", "rating", "rights")
EXPORT_FIELDS = ["id", "path", "format", "width", "height", "bytes", "hash", "generated", "captured_at", *MEDIA_FIELDS,
                 "keywords", "tags"]


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
        if len(batch) == 500:
            yield from flush()
            batch = []
    yield from flush()


@contextmanager
def _destination(output: Optional[Path]) -> Iterator[TextIO]:
    """The file to export into (stdout when none), refused clearly when it cannot be written."""
    if output is None:
        yield sys.stdout
        return
    try:
        handle = open(output, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(f"Cannot write {output}: {exc.strerror}.", hint="Choose a file in a writable folder.") from None
    with handle:
        yield handle


OutputOpt = typer.Option(None, "--output", "-o", help="File to write (default: stdout).")


@export_app.command("csv")
@handles_errors
def export_csv(library: Optional[Path] = LibraryOpt, output: Optional[Path] = OutputOpt) -> None:
    """Every asset as one CSV row (lists joined with "; "); cells never start a spreadsheet formula."""
    from generation.report import _cell as spreadsheet_safe

    lib = Library.open(library_path(library), readonly=True)
    with _destination(output) as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for record in export_records(lib):
            writer.writerow({k: spreadsheet_safe("; ".join(v) if isinstance(v, list) else v) for k, v in record.items()})


@export_app.command("json")
@handles_errors
def export_json(library: Optional[Path] = LibraryOpt, output: Optional[Path] = OutputOpt) -> None:
    """Every asset as a JSON array of objects (written as it is read, so any size fits in memory)."""
    lib = Library.open(library_path(library), readonly=True)
    with _destination(output) as handle:
        handle.write("[")
        for number, record in enumerate(export_records(lib)):
            handle.write(("," if number else "") + "\n" + json.dumps(record, ensure_ascii=False))
        handle.write("\n]\n")


@export_app.command("xmp")
@handles_errors
def export_xmp(library: Optional[Path] = LibraryOpt) -> None:
    """Write confirmed tags into XMP sidecars (photo.jpg.xmp) next to the files, merging with
    sidecars already there. Originals are never modified."""
    from indexer.sidecars import SidecarError, subjects_for_tags, write_sidecar

    lib = Library.open(library_path(library), readonly=True)
    parents = _tag_parents(lib)
    counts = {"created": 0, "merged": 0, "unchanged": 0}
    failed = 0
    for record in export_records(lib):
        if not record["tags"]:
            continue
        try:
            counts[write_sidecar(record["path"], subjects_for_tags(record["tags"], parents))] += 1
        except SidecarError as exc:
            failed += 1
            err.print(f"[red]{exc.message}[/]", highlight=False)
    err.print(f"Sidecars: {counts['created']} created, {counts['merged']} merged, {counts['unchanged']} already "
              f"up to date, {failed} failed.", highlight=False)
    if not any(counts.values()) and not failed:
        err.print("No asset has confirmed tags yet; nothing to write.")
