"""The ``scout`` command line. Parses flags into settings, calls indexer/search, prints results.

Start-up time is part of the interface: ``scout search`` is run by hand, many times. So this
module imports only typer and rich at the top; each command imports what it uses (torch, FAISS,
the model) when it runs, and the ``brief`` / ``review`` / ``report`` commands (the generation
package: scipy, pydantic models, HTTP clients) load only when invoked. BENCHMARKS.md "Command-line
start-up" has the figures.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click
import typer
from rich.table import Table

from api.cli_common import (CacheOpt, ProgressBar, DeviceOpt, DownloadOpt, LibraryOpt, PrecisionOpt, ThreadsOpt, err,
                            handles_errors, out)
from api.cli_common import encoder_options as _options
from api.cli_common import library_path as _library_path
from api.errors import EXIT_STRICT_FAILURES
from indexer.settings import EngineSettings, IndexSettings

if TYPE_CHECKING:
    from indexer.passes import PassStats
    from indexer.pipeline import RunStats

# name -> (module, attribute: a Typer app or a command function, one-line help for `scout --help`)
LAZY_COMMANDS = {
    "brief": ("api.cli_briefs", "app",
              "Run creative briefs: reuse library photos that fit, generate only what is missing."),
    "review": ("api.cli_review", "app", "The review panel: import brief runs and manual work, rate blind, 1-5."),
    "tag": ("api.cli_tags", "app", "Suggest tags from a taxonomy, review them, calibrate thresholds."),
    "duplicates": ("api.cli_library", "duplicates",
                   "Exact and near-duplicate images in clusters, each with a suggested keeper. Deletes nothing."),
    "export": ("api.cli_library", "export_app", "Export the catalog (csv, json) or write XMP sidecars."),
    "safety": ("api.cli_safety", "safety", "Judge every asset for brand safety (safe / review / block) against a policy."),
    "report": ("api.cli_review", "report",
               "The review report: mean rating per arm with 95 % CI, agreement, approval, share, time."),
}


class _LazyCommands(typer.core.TyperGroup):
    """The top-level group; the commands in ``LAZY_COMMANDS`` are imported when invoked.

    Listing them in ``--help`` shows a placeholder with the one-line help, so neither
    ``scout --help`` nor ``scout search`` imports their modules.
    """

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in LAZY_COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attr, short_help = LAZY_COMMANDS[cmd_name]
        if self._listing:
            return click.Command(cmd_name, help=short_help)
        target = getattr(importlib.import_module(module), attr)
        wrapper = typer.Typer(add_completion=False)  # built as `app.add_typer` / `app.command` would
        if isinstance(target, typer.Typer):
            wrapper.add_typer(target, name=cmd_name)
        else:
            wrapper.command(cmd_name)(target)
        built = typer.main.get_command(wrapper)
        command = getattr(built, "commands", {}).get(cmd_name, built)
        self.commands[cmd_name] = command
        return command


app = typer.Typer(
    cls=_LazyCommands,
    help="Scout: index an image library and search it by meaning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _ProgressView(ProgressBar):
    """The index bar, fed by the pipeline's RunStats callbacks (throttled to 10 Hz)."""

    def __init__(self):
        super().__init__("indexing", "files")
        self._last = 0.0

    def __call__(self, stats: RunStats) -> None:
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        detail = (
            f"embedded {stats.embedded} · reused {stats.reused} · unchanged {stats.unchanged} · "
            f"failed {stats.failed} · {stats.images_per_second:.1f} img/s"
        )
        self.update(stats.done, detail, total=stats.found)

    def content_pass(self, stats: PassStats) -> None:
        """After the embedding: the content passes (OCR...) on the same bar."""
        rate = stats.done / stats.seconds if stats.seconds else 0.0
        self.update(stats.done, f"{stats.name}: read {stats.done} · failed {stats.failed} · {rate:.1f} img/s",
                    total=stats.total)


OcrOpt = typer.Option(None, "--ocr/--no-ocr", help="Read the text in images (stored in the library: later runs "
                      "follow it). Default on, or $SCOUT_OCR (on/off) for libraries that never chose.")


def _print_summary(stats: RunStats, status: str, library: Path) -> None:
    verb = "Indexed" if status == "completed" else "Interrupted after"
    err.print(
        f"{verb} {stats.found} files in {stats.seconds:.1f}s: {stats.embedded} embedded, "
        f"{stats.reused} reused (renamed/duplicate), {stats.unchanged} unchanged, "
        f"{stats.ignored} not images, {stats.failed} failed, {stats.removed} removed. "
        f"Library: {library}",
        highlight=False,
    )
    if stats.failed:
        err.print(f"[yellow]{stats.failed} files could not be indexed; `scout errors` says why.[/]")


def _print_passes(passes: tuple[PassStats, ...]) -> None:
    for p in passes:
        if p.total:
            err.print(f"{p.name}: {p.done} read in {p.seconds:.1f}s, {p.failed} failed, {p.skipped} skipped "
                      "(changed since indexed).", highlight=False)


@app.command()
@handles_errors
def index(
    paths: list[Path] = typer.Argument(..., help="Folders to index (recursively)."),
    library: Optional[Path] = LibraryOpt,
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Encoder spec, e.g. offline or open_clip:ViT-B-32@laion2b_s34b_b79k."),
    device: str = DeviceOpt,
    threads: Optional[int] = ThreadsOpt,
    batch_size: int = typer.Option(32, "--batch-size", help="Images per model call."),
    workers: int = typer.Option(2, "--workers", help="Decode threads or processes (CPUs of a local Ray cluster)."),
    engine: str = typer.Option("threads", "--engine", help="Where per-file work runs: threads, processes "
                               "(many cores) or ray (a Ray cluster; README 'Indexing on a Ray cluster')."),
    address: Optional[str] = typer.Option(None, "--address", help="With --engine ray: the cluster to join "
                                          "(host:port of its head node, or auto); default: a local cluster."),
    max_megapixels: float = typer.Option(120.0, "--max-megapixels", help="Refuse images larger than this."),
    commit_every: int = typer.Option(64, "--commit-every", help="Files per catalog transaction (the most a crash can lose)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Try again files that failed before, even if unchanged."),
    strict: bool = typer.Option(False, "--strict", help=f"Exit {EXIT_STRICT_FAILURES} if any file failed."),
    cache_dir: Optional[Path] = CacheOpt,
    allow_download: bool = DownloadOpt,
    ocr: Optional[bool] = OcrOpt,
    image_precision: str = typer.Option(
        "auto", "--image-precision",
        help="Image tower arithmetic: auto (bf16 on a CUDA GPU that has it, else fp32), fp32, bf16, tf32 (CUDA)."),
    gpu_decode: str = typer.Option(
        "auto", "--gpu-decode",
        help="Decode baseline JPEGs on the model's GPU: auto (on when the model runs on CUDA), on, off."),
) -> None:
    """Index folders into a library: new and changed files are embedded, the rest is skipped."""
    from api.wiring import encoder_for_index
    from indexer.library import Library
    from indexer.ocr import default_switch
    from indexer.metadata import librarian_passes
    from indexer.ocr.content_pass import ocr_passes
    from indexer.engines import load_engine
    from indexer.pipeline import IndexRun, resolve_roots

    settings = IndexSettings(batch_size=batch_size, decode_workers=workers, max_megapixels=max_megapixels,
                             commit_every=commit_every, gpu_decode=gpu_decode)
    options = dataclasses.replace(_options(device, threads, cache_dir, allow_download), image_precision=image_precision)
    engine_settings = EngineSettings(name=engine, workers=workers, address=address, encoder_options=options)
    resolve_roots(paths)  # refuse a typo before spending seconds on loading a model
    run_engine = load_engine(engine_settings)  # an unknown engine too
    if engine == "ray":
        from api.wiring import quiet_ray_data

        quiet_ray_data()
    lib = Library.create_or_open(_library_path(library))
    encoder, notice = encoder_for_index(lib, model, options)
    if notice:
        err.print(f"[yellow]note:[/] {notice}", highlight=False)
    passes = librarian_passes(settings) + ocr_passes(lib, settings, choice=ocr, default=default_switch(os.environ))
    with _ProgressView() as view:
        result = IndexRun(lib, encoder, settings, progress=view, retry_failed=retry_failed, passes=passes,
                          pass_progress=view.content_pass, engine=run_engine).run(paths)
    _print_summary(result.stats, result.status, lib.path)
    _print_passes(result.passes)
    if strict and result.stats.failed:
        raise typer.Exit(EXIT_STRICT_FAILURES)


@app.command()
@handles_errors
def reindex(
    model: str = typer.Option(..., "--model", "-m", help="The encoder to switch the library to."),
    library: Optional[Path] = LibraryOpt,
    device: str = DeviceOpt,
    threads: Optional[int] = ThreadsOpt,
    cache_dir: Optional[Path] = CacheOpt,
    allow_download: bool = DownloadOpt,
    ocr: Optional[bool] = OcrOpt,
) -> None:
    """Re-embed every asset of a library with another model (roots and files stay)."""
    from indexer.encoders import load_encoder
    from indexer.library import Library
    from indexer.ocr import default_switch
    from indexer.ocr.content_pass import ocr_passes
    from indexer.pipeline import reembed

    lib = Library.open(_library_path(library))
    encoder = load_encoder(model, _options(device, threads, cache_dir, allow_download))
    settings = IndexSettings()
    passes = ocr_passes(lib, settings, choice=ocr, default=default_switch(os.environ))
    with _ProgressView() as view:
        result = reembed(lib, encoder, settings, progress=view, passes=passes, pass_progress=view.content_pass)
    _print_summary(result.stats, result.status, lib.path)
    _print_passes(result.passes)


def _hit_json(hit) -> dict:
    a = hit.asset
    return {
        "id": a.id, "path": a.path, "score": round(hit.score, 6),
        "relevance": round(hit.relevance, 3), "width": a.width, "height": a.height,
        "format": a.format, "orientation": a.orientation, "folder": a.folder, "generated": a.generated,
        "weak": hit.weak, "why": hit.why,
        "keywords": [{"field": k.field, "terms": list(k.terms), "snippet": k.snippet} for k in hit.keywords],
    }


@app.command()
@handles_errors
def search(
    text: str = typer.Argument("", help='What to find. Parts: "beach | warm tone:0.5 | -people".'),
    library: Optional[Path] = LibraryOpt,
    limit: int = typer.Option(10, "--limit", "-n", help="How many results."),
    offset: int = typer.Option(0, "--offset", help="Skip this many results (paging)."),
    like: list[str] = typer.Option([], "--like", help="Example image: asset id or image path (repeatable)."),
    minus: list[str] = typer.Option([], "--minus", help="Push results away from this text (repeatable)."),
    min_score: Optional[float] = typer.Option(None, "--min-score", help="Raw cosine floor."),
    min_relevance: Optional[float] = typer.Option(None, "--min-relevance", help="Calibrated floor in robust σ (default 3)."),
    all_results: bool = typer.Option(False, "--all", help="No relevance cutoff."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid (meaning + keywords), vector (meaning only) "
                             "or keyword (names, folders, embedded keywords, text in images)."),
    folder: Optional[Path] = typer.Option(None, "--folder", help="Only assets under this folder."),
    orientation: Optional[str] = typer.Option(None, "--orientation", help="landscape, portrait or square."),
    min_width: Optional[int] = typer.Option(None, "--min-width"),
    min_height: Optional[int] = typer.Option(None, "--min-height"),
    formats: list[str] = typer.Option([], "--format", help="Only these formats (jpeg, png, ...; repeatable)."),
    source: str = typer.Option("any", "--source", help="library (own images only), generated, or any."),
    captured_from: Optional[str] = typer.Option(None, "--captured-from", help="Only photos taken on or after this day (YYYY-MM-DD)."),
    captured_to: Optional[str] = typer.Option(None, "--captured-to", help="Only photos taken on or before this day (YYYY-MM-DD)."),
    camera: Optional[str] = typer.Option(None, "--camera", help="Only photos from a camera whose make and model contain this."),
    gps: Optional[bool] = typer.Option(None, "--gps/--no-gps", help="Only photos with (or without) a GPS position."),
    exclude_restricted: bool = typer.Option(False, "--exclude-restricted",
                                            help="Leave out assets whose licence expired or is marked restricted."),
    safety: Optional[str] = typer.Option(None, "--safety", help="safe, not-blocked, review or blocked (see scout safety)."),
    tags: list[str] = typer.Option([], "--tag", help="Only assets with this tag, accepted or suggested (repeatable: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
    device: str = DeviceOpt,
    threads: Optional[int] = ThreadsOpt,
    cache_dir: Optional[Path] = CacheOpt,
    text_precision: str = PrecisionOpt,
) -> None:
    """Search a library by text, by example image, or both."""
    from api.wiring import encoder_for_search, open_for_search
    from search import tags as tag_reads
    from search.engine import Searcher
    from search.query import (Filters, Query, example_from_ref, parse_capture_range, parse_source, parse_text,
                              split_formats, split_tags)

    captured = parse_capture_range(captured_from, captured_to)
    filters = Filters(
        folder=str(folder.expanduser().resolve()) if folder else None, orientation=orientation,
        captured_from=captured[0], captured_to=captured[1], camera=camera, has_gps=gps,
        exclude_flagged=exclude_restricted,
        min_width=min_width, min_height=min_height,
        formats=split_formats(formats), generated=parse_source(source), safety=safety, tags=split_tags(tags),
    )
    query = Query(
        parts=parse_text(text, minus), examples=tuple(example_from_ref(ref, allow_paths=True) for ref in like),
        filters=filters, limit=limit, offset=offset, min_score=min_score,
        min_relevance=min_relevance, include_all=all_results, mode=mode.strip().lower(),
    )
    lib = open_for_search(_library_path(library))
    # One query per process: map the snapshot's lists instead of reading all of them first
    searcher = Searcher(lib, encoder_for_search(lib, _options(device, threads, cache_dir, False, text_precision)),
                        mapped_index=True)
    result = searcher.search(query)
    if searcher.index.damaged is not None:
        err.print(f"[yellow]note:[/] the search index {searcher.index.damaged.name} cannot be read; these results "
                  "come from the catalog's vectors (slower on a large library). `scout index` writes a new one.")
    if as_json:
        out.print_json(data=[_hit_json(h) for h in result.hits])
        return
    if not result.hits:
        scope = ", with these filters" if filters.active else ""
        err.print(f"No results in {result.library_size} assets{scope}.")
        return
    if result.weak_matches:
        err.print(f"No strong matches (relevance ≥ {result.cutoff:g}σ) in {result.library_size} assets; closest:",
                  highlight=False)
    rows = [
        (str(rank), f"{hit.score:.3f}", f"{hit.relevance:+.1f}σ",
         f"{hit.asset.width}x{hit.asset.height}", str(hit.asset.id), hit.asset.path)
        for rank, hit in enumerate(result.hits, start=offset + 1)
    ]
    if out.is_terminal:
        table = Table(box=None, pad_edge=False)
        for column in ("#", "score", "relevance", "size", "id"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("path", overflow="fold")
        table.add_column("why", overflow="fold")
        for row, hit in zip(rows, result.hits):
            table.add_row(*row, hit.why, style="dim" if hit.weak else None)
        out.print(table)
    else:  # piped: one tab-separated line per hit, never wrapped, the path last (why: --json)
        for row in rows:
            print("\t".join(row))
    more = " (more with --offset)" if result.has_more else ""
    err.print(f"{len(result.hits)} results{more} · embed {result.embed_ms:.0f} ms · "
              f"search {result.search_ms:.1f} ms", highlight=False)
    facets = tag_reads.facets(lib, [h.asset.id for h in result.hits], limit=8)
    if facets:
        err.print("tags here: " + ", ".join(f"{t} {n}" for t, n in facets) + " (narrow with --tag)", highlight=False)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
@handles_errors
def serve(
    library: Optional[Path] = LibraryOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but loopback needs a token."),
    port: int = typer.Option(8000, "--port"),
    token: Optional[str] = typer.Option(None, "--token", envvar="SCOUT_API_TOKEN",
                                        help="API token for write endpoints (generated when binding beyond loopback)."),
    require_token_for_reads: bool = typer.Option(False, "--require-token-for-reads", help="Reads need the token too."),
    allow_host: list[str] = typer.Option([], "--allow-host",
                                         help="Also answer requests for this host name (behind a proxy; repeatable)."),
    device: str = DeviceOpt,
    threads: Optional[int] = ThreadsOpt,
    cache_dir: Optional[Path] = CacheOpt,
    text_precision: str = PrecisionOpt,
) -> None:
    """Serve the web UI at / and the HTTP API at /api (OpenAPI docs at /docs)."""
    import secrets

    import uvicorn

    from api.app import create_app
    from api.deps import ServerSettings
    from api.wiring import encoder_for_search, open_for_search

    if host not in LOOPBACK and not token:
        token = secrets.token_urlsafe(24)
        err.print(f"[bold]API token[/] (needed for writes{' and reads' if require_token_for_reads else ''}): {token}",
                  highlight=False)
    lib = open_for_search(_library_path(library))
    encoder = encoder_for_search(lib, _options(device, threads, cache_dir, False, text_precision))
    lib.close()
    settings = ServerSettings(host=host, port=port, token=token, require_token_for_reads=require_token_for_reads,
                              allowed_hosts=tuple(allow_host))
    application = create_app(lib.path, encoder, settings)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"Scout is serving {lib.path} at http://{shown}:{port}/ (API docs at /docs)", highlight=False)
    uvicorn.run(application, host=host, port=port, log_level="warning")


@app.command()
@handles_errors
def status(
    library: Optional[Path] = LibraryOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show what a library holds: roots, counts, model, index and the last run."""
    from indexer.library import Library
    from search.status import library_status

    lib = Library.open(_library_path(library), readonly=True)
    status_ = library_status(lib)
    info = status_.as_dict()
    info.pop("folders")
    if as_json:
        out.print_json(data=info)
        return
    run = info["last_run"]
    run_line = "never"
    if run:
        when = datetime.fromtimestamp(run["started_at"]).strftime("%Y-%m-%d %H:%M")
        run_line = f"{when}, {run['status']}, {run['stats'].get('embedded', 0)} embedded, {run['stats'].get('failed', 0)} failed"
    fresh = "up to date" if status_.index_fresh else "catching up from catalog"
    ocr = info["ocr"]
    ocr_line = (f"{'on' if ocr['enabled'] else 'off'}, {ocr['with_text']} of {ocr['read']} read contents have text"
                + (f", {ocr['failed']} failed" if ocr["failed"] else ""))
    safety = info["safety"]
    safety_line = ", ".join(f"{safety[k]} {k}" for k in ("safe", "review", "block", "failed") if k in safety) \
        or "not judged (scout safety)"
    tags = info["tags"]
    tags_line = (f"{tags['taxonomy']}: {tags['waiting']} waiting for review, {tags['accepted']} accepted, "
                 f"{tags['rejected']} rejected" if tags["taxonomy"] else "not tagged (scout tag)")
    for label, value in (
        ("library", info["library"]), ("roots", ", ".join(info["roots"]) or "none"),
        ("assets", info["assets"]), ("failed", info["failed"]), ("model", info["model"]),
        ("index", f"{info['index_type']}, {fresh}"),
        ("formats", ", ".join(f"{k} {v}" for k, v in info["formats"].items()) or "none"),
        ("last run", run_line), ("ocr", ocr_line), ("safety", safety_line), ("tags", tags_line),
    ):
        out.print(f"[bold]{label:>8}[/]  {value}", highlight=False)


@app.command()
@handles_errors
def errors(
    library: Optional[Path] = LibraryOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List every file that could not be indexed, why, and what to do about it."""
    from indexer.library import Library

    lib = Library.open(_library_path(library), readonly=True)
    failures = lib.catalog.failures()
    if as_json:
        out.print_json(data=[
            {"path": f.path, "reason": f.reason, "message": f.message, "hint": f.hint}
            for f in failures
        ])
        return
    if not failures:
        err.print("No failed files.")
        return
    for f in failures:
        out.print(f"[bold]{f.path}[/]\n  [red]{f.reason}[/]: {f.message}", highlight=False)
        if f.hint:
            out.print(f"  [yellow]fix:[/] {f.hint}", highlight=False)
    err.print(f"{len(failures)} files failed.")


if __name__ == "__main__":
    app()
