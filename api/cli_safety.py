"""``scout safety``: judge every asset of the library against a brand-safety policy.

Incremental: only contents not yet judged with this policy, these checks, this model and this
OCR engine cost time. ``--show-policy`` prints the default policy to start a client's own from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from api.cli_common import (
    CacheOpt,
    DeviceOpt,
    LibraryOpt,
    ProgressBar,
    ThreadsOpt,
    encoder_options,
    err,
    handles_errors,
    library_path,
    out,
)
from indexer.library import Library


@handles_errors
def safety(
    policy: Optional[Path] = typer.Option(None, "--policy", "-p",
                                          help="A policy YAML file (default: the library's last, else the GARM floor)."),
    checks: str = typer.Option("words,text_similarity,zero_shot,nudity", "--checks",
                               help="Comma-separated safety checks to run."),
    ocr: Optional[bool] = typer.Option(None, "--ocr/--no-ocr", help="Read text in images first (stored in the library; "
                                       "default: the library's choice, else $SCOUT_OCR, else on)."),
    show_policy: bool = typer.Option(False, "--show-policy", help="Print the default policy YAML and exit."),
    list_flagged: bool = typer.Option(False, "--list", help="Afterwards, list every asset judged review or block."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's counts (and --list) as JSON."),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Worker threads."),
    library: Optional[Path] = LibraryOpt, device: str = DeviceOpt, threads: Optional[int] = ThreadsOpt,
    cache_dir: Optional[Path] = CacheOpt,
) -> None:
    """Judge every asset for brand safety: safe / review / block, with reasons and evidence."""
    from indexer.safety.policy import default_policy_text, load_policy

    if show_policy:
        out.print(default_policy_text(), end="", markup=False, highlight=False)
        return
    from api.wiring import encoder_for_search
    from indexer.ocr import default_switch
    from indexer.safety.library_run import judge_library
    from search.safety import flagged

    chosen = load_policy(policy) if policy is not None else None
    names = [name.strip() for name in checks.split(",") if name.strip()]
    lib = Library.open(library_path(library))
    encoder = encoder_for_search(lib, encoder_options(device, threads, cache_dir, False))
    with ProgressBar("Judging", "contents") as bar:
        run = judge_library(lib, encoder, chosen, checks=names, ocr=ocr, ocr_default=default_switch(os.environ),
                            workers=workers,
                            progress=lambda s: bar.update(s.done, s.name, total=s.total))
    counts = lib.catalog.safety_counts(run.version)
    rows = flagged(lib) if list_flagged else []
    if as_json:
        out.print_json(json.dumps({
            "policy": run.policy.version, "judged": run.safety.done, "seconds": round(run.safety.seconds, 2),
            "ocr": run.ocr.as_dict() if run.ocr else None, "safe": counts.safe, "review": counts.review,
            "block": counts.block, "failed": counts.failed,
            "flagged": [{"id": i, "path": p, **s.as_dict()} for i, p, s in rows] if list_flagged else None}))
        return
    err.print(f"Judged {run.safety.done} contents with policy {run.policy.version!r} in {run.safety.seconds:.1f}s: "
              f"{counts.safe} safe, {counts.review} review, {counts.block} block"
              + (f", {counts.failed} failed" if counts.failed else "") + ".", highlight=False)
    for asset_id, path, verdict in rows:
        why = "; ".join(r["why"] for r in verdict.reasons)
        out.print(f"{verdict.verdict:6}  {asset_id:>6}  {path}  ({why})", markup=False, highlight=False)
