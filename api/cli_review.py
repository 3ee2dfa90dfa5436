"""``scout review ...`` and ``scout report``: the review panel from the terminal.

``scout review`` alone is the interactive, keyboard-only session (resumable: it only ever shows
what this reviewer has not rated); the sub-commands are the scriptable parts: import a brief run,
enter manual work and its hours, list the queue, rate one item.

The creative pipeline (torch, scipy, matplotlib) is imported only by the commands that need it,
so that rating from a script starts in a fraction of a second.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from api.cli_common import LibraryOpt, err, handles_errors, library_path, out
from indexer.errors import ConfigError
from indexer.library import Library
from indexer.reviews import ReviewDesk
from search import reviews

app = typer.Typer(help="The review panel: import brief runs and manual work, rate blind, 1-5.")
ReviewerOpt = typer.Option(None, "--reviewer", "-r", help="Your name as a reviewer.")


def _desk(library: Optional[Path]) -> ReviewDesk:
    return ReviewDesk(Library.open(library_path(library)))


@app.callback(invoke_without_command=True)
@handles_errors
def review(ctx: typer.Context, reviewer: Optional[str] = ReviewerOpt, library: Optional[Path] = LibraryOpt) -> None:
    """Rate the queue interactively: each item's copy and files, then 1-5, a(pprove) or r(eject),
    an optional comment. The arm is shown after rating. q quits; run again to go on."""
    if ctx.invoked_subcommand:
        return
    from generation.report import ARM_LABELS

    desk = _desk(library)
    name = reviewer or _ask("Reviewer name: ")
    if name is None:
        return
    todo = reviews.queue(desk.library, name)
    done = reviews.progress(desk.library, name)
    if not todo:
        out.print(f"Nothing left to rate for {done['reviewer']} ({done['rated']} of {done['total']} rated).")
        return
    out.print(f"{len(todo)} items to rate ({done['rated']} of {done['total']} done). q quits, s skips.")
    for position, view in enumerate(todo, start=1):
        _show(desk.library, view, position, len(todo))
        started = time.monotonic()
        rating = _choose("Rating 1-5: ", {"1", "2", "3", "4", "5", "s"})
        if rating == "s":
            continue
        verdict = _choose("a(pprove) or r(eject): ", {"a", "r"}) if rating else None
        comment = _ask("Comment (Enter for none): ") if verdict else None
        if rating is None or verdict is None or comment is None:
            out.print("Stopped; your ratings are saved. Run `scout review` again to go on.")
            return
        desk.rate(view.id, name, int(rating), verdict == "a", comment, seconds=time.monotonic() - started)
        seen = reviews.item_for(desk.library, view.id, name)
        out.print(f"[green]saved.[/] This was: [bold]{ARM_LABELS[seen.arm]}[/]"
                  f"{_provenance_line(seen.provenance)}", highlight=False)
    out.print("All rated. `scout report` has the numbers.")


def _ask(prompt: str) -> str | None:
    """One line from the keyboard; None on q or end of input."""
    try:
        answer = input(prompt).strip()
    except EOFError:
        return None
    return None if answer.lower() == "q" else answer


def _choose(prompt: str, allowed: set[str]) -> str | None:
    while True:
        answer = _ask(prompt)
        if answer is None or answer.lower() in allowed:
            return answer if answer is None else answer.lower()
        err.print(f"Type one of {', '.join(sorted(allowed))}, or q to quit.")


def _show(library: Library, view: reviews.ReviewView, position: int, total: int) -> None:
    out.rule(f"{position}/{total} · item {view.id} · destination {view.destination}")
    out.print(f"[bold]{view.headline}[/]", highlight=False)
    if view.body:
        out.print(view.body, highlight=False)
    if view.cta:
        out.print(f"[reverse] {view.cta} [/]", highlight=False)
    if view.has_image:
        out.print(f"image: {reviews.item_file(library, view.id)[1]}", highlight=False)
    for fmt in view.formats:
        out.print(f"{fmt}: {reviews.item_file(library, view.id, fmt)[1]}", highlight=False)


def _provenance_line(provenance: dict | None) -> str:
    if not provenance:
        return ""
    copy = provenance.get("copy") or {}
    image = provenance.get("image") or {}
    parts = [f"copy by {copy['writer']}" + (f" ({copy['model']})" if copy.get("model") else "")
             if copy.get("writer") else "", f"image asset {image['asset_id']}" if image.get("asset_id") else ""]
    return "; " + ", ".join(p for p in parts if p) if any(parts) else ""


@app.command("import")
@handles_errors
def import_run(out_dir: Path = typer.Argument(..., help="The --out folder of `scout brief run`."),
               library: Optional[Path] = LibraryOpt,
               as_json: bool = typer.Option(False, "--json", help="Print what was imported as JSON.")) -> None:
    """Put a brief run's rendered copy variants before the panel (importing again adds nothing)."""
    from generation.package import review_drafts

    desk = _desk(library)
    found = review_drafts(out_dir)
    result = desk.add(found.drafts)
    if as_json:
        out.print_json(json.dumps({"added": result.added, "kept": result.kept,
                                   "skipped": [{"brief": b, "reason": r} for b, r in found.skipped]}))
        return
    for brief, reason in found.skipped:
        err.print(f"[yellow]{brief}: not imported[/]: {reason}", highlight=False)
    err.print(f"{len(result.added)} items added, {len(result.kept)} imported earlier, "
              f"{len(found.skipped)} briefs without a package.", highlight=False)


@app.command("add-manual")
@handles_errors
def add_manual(destination: str = typer.Option(..., "--destination", "-d", help="The brief id it answers."),
               images: List[Path] = typer.Option(..., "--image", "-i", help="A finished ad; repeat per format."),
               headline: str = typer.Option(..., "--headline"),
               body: str = typer.Option("", "--body"),
               cta: str = typer.Option("", "--cta"),
               hours: Optional[float] = typer.Option(None, "--hours", help="Hours the manual work took."),
               library: Optional[Path] = LibraryOpt) -> None:
    """Enter manual baseline work, rated blind in the same queue as the AI variants."""
    files = []
    for path in images:
        try:
            files.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise ConfigError(f"Cannot read {path}: {exc.strerror}.", hint="Check the --image path.") from None
    desk = _desk(library)
    result = desk.add_manual(destination, files, headline, body, cta, hours, source=", ".join(map(str, images)))
    item = (result.added or result.kept)[0]
    err.print(f"manual item {item} for {destination} " + ("added." if result.added else "was entered before."),
              highlight=False)


@app.command("hours")
@handles_errors
def hours(destination: str = typer.Argument(...), value: float = typer.Argument(..., help="Hours of manual work."),
          library: Optional[Path] = LibraryOpt) -> None:
    """Record (or correct) the hours manual work took for a destination."""
    _desk(library).set_hours(destination, value)
    err.print(f"{destination}: {value:g} hours of manual work.", highlight=False)


@app.command("queue")
@handles_errors
def show_queue(reviewer: str = typer.Option(..., "--reviewer", "-r"), library: Optional[Path] = LibraryOpt,
               as_json: bool = typer.Option(False, "--json")) -> None:
    """What this reviewer has left to rate, in their order, blind."""
    lib = Library.open(library_path(library), readonly=True)
    todo = reviews.queue(lib, reviewer)
    if as_json:
        out.print_json(json.dumps([v.to_dict() for v in todo]))
        return
    table = Table(box=None, pad_edge=False)
    for column in ("item", "destination", "headline", "formats"):
        table.add_column(column, overflow="fold")
    for v in todo:
        table.add_row(str(v.id), v.destination, v.headline, " ".join(v.formats))
    out.print(table)


@app.command("rate")
@handles_errors
def rate(item: int = typer.Argument(..., help="The item id (scout review queue)."),
         rating: int = typer.Argument(..., help="1 (poor) to 5 (excellent)."),
         reviewer: str = typer.Option(..., "--reviewer", "-r"),
         approve: Optional[bool] = typer.Option(None, "--approve/--reject", help="Your verdict (required)."),
         comment: str = typer.Option("", "--comment"),
         seconds: float = typer.Option(0.0, "--seconds", help="Time spent reviewing it."),
         library: Optional[Path] = LibraryOpt) -> None:
    """Rate one item (again: replaces your earlier rating)."""
    if approve is None:
        raise ConfigError("Say whether you approve the item.", hint="Add --approve or --reject.")
    from generation.report import ARM_LABELS

    desk = _desk(library)
    desk.rate(item, reviewer, rating, approve, comment, seconds)
    seen = reviews.item_for(desk.library, item, reviewer)
    err.print(f"item {item}: {rating}, {'approved' if approve else 'rejected'} by {reviewer}; "
              f"it was {ARM_LABELS[seen.arm]}.", highlight=False)


@handles_errors
def report(library: Optional[Path] = LibraryOpt,
           as_json: bool = typer.Option(False, "--json", help="Every figure as JSON."),
           as_csv: bool = typer.Option(False, "--csv", help="Every figure as CSV rows."),
           plot_file: Optional[Path] = typer.Option(None, "--plot", help="Write the plot: FILE.png or FILE.svg.")) -> None:
    """The review report: mean rating per arm with 95 % CI, agreement, approval, share, time."""
    if plot_file is not None and plot_file.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"--plot {plot_file} is neither .png nor .svg.", hint="Name the file report.png or report.svg.")
    from generation.package import library_report
    from generation.report import plot, to_csv

    result = library_report(Library.open(library_path(library), readonly=True))
    if plot_file is not None:
        try:
            plot(result).savefig(plot_file, format=plot_file.suffix[1:].lower(), dpi=150)
        except OSError as exc:
            raise ConfigError(f"Cannot write {plot_file}: {exc.strerror}.", hint="Choose a writable path.") from None
        err.print(f"plot: {plot_file}", highlight=False)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    elif as_csv:
        out.print(to_csv(result), end="", highlight=False, markup=False)
    else:
        _print_report(result)


def _print_report(result) -> None:
    from generation.report import ARM_LABELS

    table = Table(box=None, pad_edge=False)
    for column in ("arm", "mean", "95 % CI", "approved", "ratings", "destinations", "review min/dest"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm, s in result.arms.items():
        ci = "-" if s.rating.low is None else f"{s.rating.low:.2f} to {s.rating.high:.2f}"
        table.add_row(ARM_LABELS[arm], f"{s.rating.mean:.2f}", ci, f"{s.approval_rate:.0%}", str(s.ratings),
                      str(s.destinations), f"{s.reviewer_minutes_per_destination:.1f}")
    out.print(table)
    if result.comparison:
        d = result.comparison.difference
        ci = "" if d.low is None else f" (95 % CI {d.low:+.2f} to {d.high:+.2f})"
        out.print(f"AI-assisted minus manual: {d.mean:+.2f}{ci}; {result.comparison.method}", highlight=False)
    alpha = result.agreement.alpha
    out.print(f"Agreement: Krippendorff's alpha (ordinal) {'-' if alpha is None else f'{alpha:.3f}'}: "
              f"{result.agreement.note}", highlight=False)
    if result.share_reused is not None:
        out.print(f"AI variants on reused photos {result.share_reused:.0%}, on generated images "
                  f"{result.share_generated:.0%}", highlight=False)
    t = result.time
    if t.ai_assisted_minutes_per_destination is not None:
        out.print(f"AI-assisted time per destination (machine + review): {t.ai_assisted_minutes_per_destination:.1f} min",
                  highlight=False)
    if t.manual_minutes_per_destination is not None:
        out.print(f"Manual time per destination (hours entered, {t.destinations_with_manual_hours} destinations): "
                  f"{t.manual_minutes_per_destination:.0f} min", highlight=False)
