"""``scout duplicates`` and ``scout export xmp|csv|json``: the librarian's commands.

Neither deletes nor changes an original: duplicates only suggests a keeper per cluster, and the
XMP export writes sidecars next to the files (merging with sidecars already there).
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, TextIO

import typer

from api.cli_common import LibraryOpt, err, handles_errors, library_path, out
from indexer.errors import ConfigError
from indexer.library import Library
from search import export


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


@contextmanager
def _destination(output: Optional[Path]) -> Iterator[TextIO]:
    """The file to export into (stdout when none), refused clearly when it cannot be opened, and
    a clear error, not a traceback, when writing fails half-way (a full disk, a closed pipe)."""
    if output is None:
        try:
            yield sys.stdout
            sys.stdout.flush()
        except BrokenPipeError:  # `scout export csv | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's documented way out
        except OSError as exc:
            raise ConfigError(f"Cannot write the export to standard output: {exc.strerror}.") from None
        return
    try:
        handle = open(output, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(f"Cannot write {output}: {exc.strerror}.", hint="Choose a file in a writable folder.") from None
    try:
        with handle:
            yield handle
    except OSError as exc:
        raise ConfigError(f"Writing {output} failed: {exc.strerror}; the file is incomplete.",
                          hint="Free some space or choose another file, and export again.") from None


OutputOpt = typer.Option(None, "--output", "-o", help="File to write (default: stdout).")


@export_app.command("csv")
@handles_errors
def export_csv(library: Optional[Path] = LibraryOpt, output: Optional[Path] = OutputOpt) -> None:
    """Every asset as one CSV row (lists joined with "; "); cells never start a spreadsheet formula."""
    lib = Library.open(library_path(library), readonly=True)
    with _destination(output) as handle:
        export.write_csv(lib, handle)


@export_app.command("json")
@handles_errors
def export_json(library: Optional[Path] = LibraryOpt, output: Optional[Path] = OutputOpt) -> None:
    """Every asset as a JSON array of objects (written as it is read, so any size fits in memory)."""
    lib = Library.open(library_path(library), readonly=True)
    with _destination(output) as handle:
        export.write_json(lib, handle)


@export_app.command("xmp")
@handles_errors
def export_xmp(library: Optional[Path] = LibraryOpt) -> None:
    """Write confirmed tags into XMP sidecars (photo.jpg.xmp) next to the files, merging with
    sidecars already there. Originals are never modified."""
    from indexer.sidecars import SidecarError, subjects_for_tags, write_sidecar

    lib = Library.open(library_path(library), readonly=True)
    parents = export.tag_parents(lib)
    counts = {"created": 0, "merged": 0, "unchanged": 0}
    failed = 0
    for record in export.export_records(lib):
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
