"""``scout brief ...``: run creative briefs against the library (retrieve, align, reuse or generate)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from api.cli_common import DeviceOpt, LibraryOpt, ProgressBar, ThreadsOpt, encoder_options, err, handles_errors, library_path, out
from api.wiring import encoder_for_search, open_for_search
from generation.align import ALIGNERS, AlignSettings, load_aligner
from generation.align.threshold import ReuseThreshold, load_threshold_file
from generation.briefs import BriefBatch, load_briefs
from generation.copy import COPY_WRITERS, CopyWriterOptions, load_copy_writer
from generation.openai_api import EndpointSettings
from generation.retrieve import RetrieveSettings
from generation.package import package_stages, write_batch_sheet
from generation.run import BatchResult, BriefProgress, LibraryImageMaker, brief_run
from indexer.errors import ConfigError, ScoutError
from indexer.library import Library
from search.engine import Searcher

app = typer.Typer(help="Run creative briefs: reuse library photos that fit, generate only what is missing.",
                  no_args_is_help=True)


def _print_errors(batch: BriefBatch) -> None:
    for error in batch.errors:
        err.print(f"[bold red]invalid brief:[/] {error}", highlight=False)


@app.command("check")
@handles_errors
def check(briefs: Path = typer.Argument(..., help="A brief or batch: .yaml, .yml, .json or .csv.")) -> None:
    """Validate a brief file without running it."""
    batch = load_briefs(briefs)
    _print_errors(batch)
    err.print(f"{len(batch.briefs)} valid, {len(batch.errors)} problems in {batch.source}.")
    if batch.errors:
        raise ConfigError(f"{len(batch.errors)} problems in {batch.source}.", hint="Fix the fields named above.")


class _BriefProgressView(ProgressBar):
    """One bar over the batch; its text says which brief and which step is running."""

    def __init__(self, total: int):
        super().__init__("briefs", total=total)

    def __call__(self, event: BriefProgress) -> None:
        finished = event.stage in ("done", "skipped")
        step = "finished earlier, kept" if event.stage == "skipped" else event.stage
        self.update(event.index if finished else event.index - 1, f"{event.brief_id}: {step}")


def _print_table(result: BatchResult) -> None:
    table = Table(box=None, pad_edge=False)
    for column in ("brief", "outcome", "best", "reused", "generated"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("best", "reused", "generated") else "left")
    table.add_column("problem", overflow="fold")
    styles = {"reused": "green", "generated": "cyan", "needs_generation": "yellow", "failed": "red"}
    for r in result.results:
        outcome = r.outcome.replace("_", " ") + (" (kept)" if r.resumed else "")
        best = "-" if r.best_score is None else f"{r.best_score:.2f}"
        table.add_row(r.brief_id, f"[{styles.get(r.outcome, '')}]{outcome}[/]", best, str(r.reused),
                      str(r.generated), r.error or "")
    out.print(table)
    for r in result.results:
        if r.outcome == "needs_generation":
            err.print(f"[yellow]{r.brief_id} needs generation[/]{': ' + r.error if r.error else ''}\n"
                      f"  prompt: {r.prompt}\n  negative prompt: {r.negative_prompt}", highlight=False)
    counts = result.counts()
    err.print(f"{len(result.results)} briefs in {result.seconds:.1f}s: {counts['reused']} reused, "
              f"{counts['generated']} generated, {counts['needs_generation']} need generation, "
              f"{counts['failed']} failed, {counts['invalid']} invalid. Summary: {result.out_dir / 'summary.json'}",
              highlight=False)


@app.command("run")
@handles_errors
def run(
    briefs: Path = typer.Argument(..., help="A brief or batch: .yaml, .yml, .json or .csv."),
    library: Optional[Path] = LibraryOpt,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: brief-runs/NAME of the brief file)."),
    aligner: str = typer.Option("clip", "--aligner", help=f"How candidates are scored: {', '.join(ALIGNERS.names())}."),
    generator: str = typer.Option("none", "--generator", "-g",
                                  help="none, diffusers:/path/to/pipeline, or openai-images (SCOUT_IMAGES_* settings)."),
    reuse_threshold_value: Optional[float] = typer.Option(
        None, "--reuse-threshold", help="Alignment score a library photo needs to be reused (aligner's scale)."),
    threshold_file: Optional[Path] = typer.Option(
        None, "--threshold-file", help='JSON {"model_id", "value", "how"}; refused for another model.'),
    copy: bool = typer.Option(False, "--copy", help="Copy candidate files into the output instead of linking."),
    library_only: bool = typer.Option(False, "--library-only",
                                      help="Leave earlier generated images out of the candidates."),
    copy_writer: Optional[str] = typer.Option(
        None, "--copy-writer", help=f"Ad copy: {', '.join(COPY_WRITERS.names())} "
        "[default: openai when SCOUT_COPY_BASE_URL is set, else template]."),
    no_render: bool = typer.Option(False, "--no-render", help="Write copy but render no ad formats."),
    vlm_base_url: Optional[str] = typer.Option(None, "--vlm-base-url", help="The vlm aligner's endpoint (default: $SCOUT_VLM_BASE_URL)."),
    vlm_model: Optional[str] = typer.Option(None, "--vlm-model", help="The vlm aligner's model (default: $SCOUT_VLM_MODEL)."),
    as_json: bool = typer.Option(False, "--json", help="Print the batch summary as JSON."),
    device: str = DeviceOpt,
    threads: Optional[int] = ThreadsOpt,
) -> None:
    """Run briefs: find library photos that fit each, generate only the shortfall, rank all by fit.

    Resumable: run the same command again after an interruption; finished briefs are kept, changed
    briefs are redone.
    """
    batch = load_briefs(briefs)
    _print_errors(batch)
    if not batch.briefs:
        raise ConfigError(f"{batch.source} holds no valid brief.", hint="Fix the fields named above.")
    lib = open_for_search(library_path(library))
    options = encoder_options(device, threads, None, False)
    encoder = encoder_for_search(lib, options)
    searcher = Searcher(lib, encoder)
    align_settings = AlignSettings(endpoint=_vlm_endpoint(vlm_base_url, vlm_model) if aligner == "vlm" else None)
    override = load_threshold_file(threshold_file) if threshold_file else None
    if reuse_threshold_value is not None:  # in the scale of the aligner chosen: valid for its model
        model_id = load_aligner(aligner, searcher, align_settings).model_id
        override = ReuseThreshold(reuse_threshold_value, model_id, "--reuse-threshold")
    maker, writer = None, None
    if generator != "none":
        from generation.generate import GeneratorOptions, load_generator

        loaded = load_generator(generator, GeneratorOptions.from_env(os.environ, device=device))
        writer = Library.open(lib.path)
        maker = LibraryImageMaker(loaded, writer, encoder)
    copy_options = CopyWriterOptions(endpoint=EndpointSettings.from_env("SCOUT_COPY", os.environ))
    package = package_stages(load_copy_writer(copy_writer, copy_options), lib, encoder, render=not no_render)
    target = out_dir or Path("brief-runs") / briefs.stem
    try:
        with _BriefProgressView(len(batch.briefs)) as view:
            runner = brief_run(searcher, target, aligner=aligner, align_settings=align_settings, threshold=override,
                               maker=maker, copy=copy, progress=view, extra_stages=package,
                               after_batch=[write_batch_sheet],
                               retrieve_settings=RetrieveSettings(include_generated=not library_only))
            result = runner.run(batch.briefs, batch.errors)
    finally:
        if writer is not None:
            writer.close()
    if as_json:
        out.print_json((target / "summary.json").read_text())
    else:
        _print_table(result)
    if batch.errors:
        raise ConfigError(f"{len(batch.errors)} invalid briefs in {batch.source} were not run.",
                          hint="Fix the fields named above and run again; finished briefs are kept.")
    failed = [r for r in result.results if r.outcome == "failed"]
    if failed:
        raise ScoutError(f"{len(failed)} briefs failed: " + "; ".join(f"{r.brief_id}: {r.error}" for r in failed),
                         hint="Run the same command again to retry them; finished briefs are kept.")


def _vlm_endpoint(base_url: Optional[str], model: Optional[str]) -> EndpointSettings:
    """Flags override the SCOUT_VLM_* environment, read here at the edge."""
    environ = dict(os.environ)
    if base_url:
        environ["SCOUT_VLM_BASE_URL"] = base_url
    if model:
        environ["SCOUT_VLM_MODEL"] = model
    settings = EndpointSettings.from_env("SCOUT_VLM", environ)
    if settings is None:
        raise ConfigError("The vlm aligner needs an OpenAI-compatible endpoint.",
                          hint="Set SCOUT_VLM_BASE_URL and SCOUT_VLM_MODEL (e.g. http://127.0.0.1:11434/v1 and "
                          "llava), or pass --vlm-base-url and --vlm-model.")
    return settings
