"""``scout tag ...``: zero-shot tagging against a taxonomy, the review queue, and calibration.

``scout tag`` alone scores the library (incrementally); the sub-commands read the queue, record
decisions (one by one or in bulk above a confidence) and propose thresholds from decisions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from api.cli_common import (
    CacheOpt,
    DeviceOpt,
    DownloadOpt,
    LibraryOpt,
    ProgressBar,
    ThreadsOpt,
    encoder_options,
    err,
    handles_errors,
    library_path,
    out,
)
from indexer.errors import ConfigError
from indexer.library import Library
from search import tags as tag_reads
from search.query import parse_asset_id

app = typer.Typer(help="Suggest tags from a taxonomy, review them, calibrate thresholds.")
ReviewerOpt = typer.Option(None, "--reviewer", "-r", help="Your name, stored with each decision.")
JsonOpt = typer.Option(False, "--json", help="Print JSON.")


@app.callback(invoke_without_command=True)
@handles_errors
def tag(ctx: typer.Context,
        taxonomy: Optional[Path] = typer.Option(None, "--taxonomy", "-t",
                                                help="A taxonomy YAML file (default: the library's last, else Scout's starter)."),
        library: Optional[Path] = LibraryOpt, device: str = DeviceOpt, threads: Optional[int] = ThreadsOpt,
        cache_dir: Optional[Path] = CacheOpt, allow_download: bool = DownloadOpt) -> None:
    """Score every asset against every tag of the taxonomy; only new assets and changed prompts cost time."""
    if ctx.invoked_subcommand:
        return
    from api.wiring import encoder_for_search
    from indexer.tagging.tagger import Tagger, stored_taxonomy
    from indexer.tagging.taxonomy import load_taxonomy

    lib = Library.open(library_path(library))
    chosen = load_taxonomy(taxonomy) if taxonomy is not None else (stored_taxonomy(lib) or load_taxonomy())
    encoder = encoder_for_search(lib, encoder_options(device, threads, cache_dir, allow_download))
    with ProgressBar("Tagging", "assets") as bar:
        stats = Tagger(lib, encoder).run(
            chosen, progress=lambda s: bar.update(s.scored, f"{s.suggestions} suggestions", total=s.total))
    if stats.total:
        err.print(f"Tagged {stats.scored} assets against {len(chosen.scored_tags)} tags of {chosen.name!r} in "
                  f"{stats.seconds:.1f}s: {stats.suggestions} scores stored. `scout tag list` shows what waits "
                  "for review.", highlight=False)
    else:
        err.print(f"Nothing to tag: every asset is already scored with {chosen.name!r} and this model.", highlight=False)


@app.command("list")
@handles_errors
def list_queue(tag_name: Optional[str] = typer.Option(None, "--tag", help="Only this tag."),
               asset: Optional[str] = typer.Option(None, "--asset", help="Only this asset id."),
               limit: int = typer.Option(50, "--limit", "-n"), offset: int = typer.Option(0, "--offset"),
               library: Optional[Path] = LibraryOpt, as_json: bool = JsonOpt) -> None:
    """Suggestions waiting for review, most confident first."""
    lib = Library.open(library_path(library), readonly=True)
    asset_id = parse_asset_id(asset) if asset is not None else None
    rows = tag_reads.review_queue(lib, tag=tag_name, asset_id=asset_id, limit=limit, offset=offset)
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in rows]))
        return
    if not rows:
        out.print("Nothing waits for review" + (f" for {tag_name!r}." if tag_name else "."))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("asset", "tag", "confidence", "file"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(str(r.asset.id), " > ".join(r.path), f"{r.confidence:.1f}", r.asset.path)
    out.print(table)


@app.command("overview")
@handles_errors
def overview(library: Optional[Path] = LibraryOpt, as_json: bool = JsonOpt) -> None:
    """Every tag: threshold (and where it comes from), waiting, accepted and rejected counts."""
    rows = tag_reads.tag_overview(Library.open(library_path(library), readonly=True))
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in rows]))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("tag", "parent", "group", "threshold", "waiting", "accepted", "rejected"):
        table.add_column(column)
    for r in rows:
        if r.scored:
            table.add_row(r.name, r.parent or "", r.group or "", f"{r.threshold:.2f} ({r.threshold_source})",
                          str(r.waiting), str(r.accepted), str(r.rejected))
    out.print(table)


@app.command("show")
@handles_errors
def show(asset: str = typer.Argument(..., help="An asset id."), library: Optional[Path] = LibraryOpt,
         as_json: bool = JsonOpt) -> None:
    """One asset's tags: accepted, rejected, and suggestions waiting for review."""
    rows = tag_reads.asset_tags(Library.open(library_path(library), readonly=True), parse_asset_id(asset))
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in rows]))
        return
    for r in rows:
        confidence = "" if r.confidence is None else f" ({r.confidence:.1f})"
        out.print(f"{r.status:9} {' > '.join(r.path)}{confidence}", highlight=False)


def _decide(decision: str, tag_name: str, assets: list[str], above: Optional[float], reviewer: Optional[str],
            library: Optional[Path]) -> None:
    from indexer.tagging.review import TagDesk

    if not assets and above is None:
        raise ConfigError("Name the assets, or --above CONFIDENCE for every waiting suggestion of the tag.")
    lib = Library.open(library_path(library))
    ids = [parse_asset_id(a) for a in assets]
    if above is not None:
        waiting = tag_reads.review_queue(lib, tag=tag_name, limit=tag_reads.MAX_PAGE)
        ids += [r.asset.id for r in waiting if r.confidence is not None and r.confidence >= above]
    count = TagDesk(lib).decide([(i, tag_name, decision) for i in dict.fromkeys(ids)], reviewer)
    err.print(f"{tag_name}: {count} {decision}.", highlight=False)


@app.command("accept")
@handles_errors
def accept(tag_name: str = typer.Argument(..., help="The tag."),
           assets: List[str] = typer.Argument(None, help="Asset ids."),
           above: Optional[float] = typer.Option(None, "--above", help="Also every waiting suggestion at or above this confidence."),
           reviewer: Optional[str] = ReviewerOpt, library: Optional[Path] = LibraryOpt) -> None:
    """Confirm a tag on assets (final: kept through re-tagging and model changes)."""
    _decide("accepted", tag_name, assets or [], above, reviewer, library)


@app.command("reject")
@handles_errors
def reject(tag_name: str = typer.Argument(..., help="The tag."),
           assets: List[str] = typer.Argument(None, help="Asset ids."),
           above: Optional[float] = typer.Option(None, "--above", help="Also every waiting suggestion at or above this confidence."),
           reviewer: Optional[str] = ReviewerOpt, library: Optional[Path] = LibraryOpt) -> None:
    """Reject a tag on assets: it is never suggested for them again."""
    _decide("rejected", tag_name, assets or [], above, reviewer, library)


@app.command("calibrate")
@handles_errors
def calibrate(target_precision: float = typer.Option(0.9, "--target-precision", help="Share of shown suggestions that should be right."),
              min_decisions: int = typer.Option(8, "--min-decisions", help="Fewer decisions on a tag: no proposal."),
              apply: bool = typer.Option(False, "--apply", help="Store the proposed thresholds for this model."),
              library: Optional[Path] = LibraryOpt, as_json: bool = JsonOpt) -> None:
    """Propose a threshold per tag from the decisions made so far (precision and recall at each candidate)."""
    from indexer.tagging.review import TagDesk

    desk = TagDesk(Library.open(library_path(library), readonly=not apply))
    proposals = desk.calibrate(target_precision=target_precision, min_decisions=min_decisions)
    if as_json:
        out.print_json(json.dumps([{"tag": p.tag, "current": p.current, "proposed": p.proposed,
                                    "decisions": p.decisions, "accepted": p.accepted, "reason": p.reason,
                                    "candidates": [c.__dict__ for c in p.candidates]} for p in proposals]))
    else:
        if not proposals:
            out.print("No decisions yet: review some suggestions (`scout tag list`, the Tags page) first.")
        for p in proposals:
            proposed = "no change" if p.proposed is None else f"{p.current:.2f} -> {p.proposed:.2f}"
            out.rule(f"{p.tag}: {proposed} ({p.decisions} decisions, {p.accepted} accepted)")
            out.print(p.reason, highlight=False)
            for c in p.candidates:
                mark = "<" if c.threshold == p.proposed else " "
                out.print(f"  {mark} >= {c.threshold:6.2f}  precision {c.precision:5.0%}  recall {c.recall:5.0%}  "
                          f"shown {c.kept}", highlight=False)
    if apply:
        err.print(f"{desk.apply(proposals)} thresholds stored for this model.", highlight=False)
