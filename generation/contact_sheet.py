"""The batch contact sheet: one HTML page showing, per brief, the chosen image, the copy
variants and every rendered format, for a creative lead to scan a whole batch at once.

It is a single self-contained file: inline CSS, no scripts, nothing fetched from the network,
and every link relative to the sheet's own folder, so it opens from disk (``file://``) and
keeps working when the batch folder is zipped, mailed or moved. Text is HTML-escaped, so copy
written by a model cannot inject markup.

The input is a few plain dataclasses (:class:`SheetBrief`, :class:`SheetVariant`,
:class:`SheetRender`) so the sheet does not depend on how the pipeline stores its results: the
run builds them from its per-brief packages and calls :func:`write_contact_sheet`.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from PIL import Image, UnidentifiedImageError


@dataclass(frozen=True)
class SheetRender:
    """One rendered format of one variant: ``png`` is the master, ``jpeg`` (if any) is shown
    on the sheet because it is lighter; ``notes`` are compose's compromises (scrim, shortened)."""

    format: str
    png: Path
    jpeg: Path | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SheetVariant:
    """One copy variant and its renders; ``flags`` are the reviewer warnings (grounding, length)."""

    label: str
    headline: str
    body: str = ""
    cta: str = ""
    flags: tuple[str, ...] = ()
    renders: tuple[SheetRender, ...] = ()


@dataclass(frozen=True)
class SheetBrief:
    """One brief: the image chosen for it (``image_source`` says reused or generated, and from
    where), its variants, or ``error`` when the brief produced nothing."""

    brief_id: str
    subject: str = ""
    image: Path | None = None
    image_source: str = ""
    variants: tuple[SheetVariant, ...] = ()
    error: str | None = None


_CSS = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #5f5f5f; --line: #dcdcdc; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: #f6f6f4; }
header { padding: 20px 28px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p, nav { margin: 0; color: var(--muted); }
nav a { margin-right: 12px; color: inherit; }
main { padding: 8px 28px 40px; }
section.brief { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin: 20px 0; padding: 18px 20px; }
section.brief h2 { margin: 0 0 2px; font-size: 18px; }
.subject { color: var(--muted); margin: 0 0 12px; }
.source { display: flex; gap: 16px; align-items: flex-start; margin-bottom: 12px; }
.source img { max-height: 180px; max-width: 280px; height: auto; width: auto; border-radius: 4px;
              border: 1px solid var(--line); }
.variant { border-top: 1px solid var(--line); padding-top: 12px; margin-top: 12px; }
.variant h3 { margin: 0 0 6px; font-size: 15px; color: var(--muted); font-weight: 600; }
.copy .headline { font-size: 17px; font-weight: 700; margin: 0; }
.copy .body { margin: 2px 0; }
.copy .cta { display: inline-block; margin-top: 4px; padding: 2px 10px; border-radius: 12px; background: #1b1b1b;
             color: #fff; font-size: 13px; }
.flags { margin: 6px 0 0; padding-left: 18px; color: var(--warn); }
.renders { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 10px; align-items: flex-end; }
figure { margin: 0; }
figure img { display: block; max-height: 240px; max-width: 320px; width: auto; height: auto;
             border: 1px solid var(--line); background: #eee; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 3px; }
figcaption a { color: inherit; }
.missing { display: inline-block; padding: 30px 20px; border: 1px dashed #b00; color: #b00; font-size: 13px; }
.error { color: #b00; font-weight: 600; }
"""


def write_contact_sheet(briefs: Sequence[SheetBrief], path: str | Path, title: str = "Scout batch") -> Path:
    """Write the sheet to ``path`` (via a temporary file and a rename) and return it."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    page = _page(briefs, path.parent, title)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def _page(briefs: Sequence[SheetBrief], base: Path, title: str) -> str:
    variants = sum(len(b.variants) for b in briefs)
    renders = sum(len(v.renders) for b in briefs for v in b.variants)
    failed = sum(1 for b in briefs if b.error)
    summary = (f"{len(briefs)} brief{'s' * (len(briefs) != 1)}, {variants} copy variants, {renders} renders"
               + (f", {failed} failed" if failed else ""))
    nav = " ".join(f'<a href="#{_anchor(b.brief_id)}">{_e(b.brief_id)}</a>' for b in briefs)
    sections = "\n".join(_brief(b, base) for b in briefs)
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f'<header><h1>{_e(title)}</h1><p id="summary">{_e(summary)}</p><nav>{nav}</nav></header>\n'
            f"<main>\n{sections}\n</main>\n</body>\n</html>\n")


def _brief(brief: SheetBrief, base: Path) -> str:
    parts = [f'<section class="brief" id="{_anchor(brief.brief_id)}">', f"<h2>{_e(brief.brief_id)}</h2>"]
    if brief.subject:
        parts.append(f'<p class="subject">{_e(brief.subject)}</p>')
    if brief.error:
        parts.append(f'<p class="error">{_e(brief.error)}</p>')
    if brief.image:
        parts.append(f'<div class="source">{_image(brief.image, base, f"Chosen image for {brief.brief_id}")}'
                     f"<p>{_e(brief.image_source)}</p></div>")
    for variant in brief.variants:
        parts.append(_variant(variant, base))
    parts.append("</section>")
    return "\n".join(parts)


def _variant(variant: SheetVariant, base: Path) -> str:
    copy = [f'<p class="headline">{_e(variant.headline)}</p>']
    if variant.body:
        copy.append(f'<p class="body">{_e(variant.body)}</p>')
    if variant.cta:
        copy.append(f'<span class="cta">{_e(variant.cta)}</span>')
    flags = ("<ul class=\"flags\">" + "".join(f"<li>{_e(flag)}</li>" for flag in variant.flags) + "</ul>"
             if variant.flags else "")
    figures = "".join(_render(render, variant.label, base) for render in variant.renders)
    return (f'<div class="variant"><h3>{_e(variant.label)}</h3><div class="copy">{"".join(copy)}</div>{flags}'
            f'<div class="renders">{figures}</div></div>')


def _render(render: SheetRender, label: str, base: Path) -> str:
    shown = render.jpeg if render.jpeg else render.png
    links = [f'<a href="{_href(render.png, base)}">PNG</a>']
    if render.jpeg:
        links.append(f'<a href="{_href(render.jpeg, base)}">JPEG</a>')
    notes = "".join(f" · {_e(note)}" for note in render.notes)
    image = _image(shown, base, f"{label}, {render.format}")
    return (f'<figure class="render" data-format="{_e(render.format)}"><a href="{_href(render.png, base)}">{image}</a>'
            f"<figcaption>{_e(render.format)} · {' · '.join(links)}{notes}</figcaption></figure>")


def _image(target: Path, base: Path, alt: str) -> str:
    """An <img> with its real size (no layout jumps), or a visible marker when the file is gone."""
    try:
        with Image.open(target) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError):
        return f'<span class="missing">missing: {_e(Path(target).name)}</span>'
    return f'<img src="{_href(target, base)}" alt="{_e(alt)}" width="{width}" height="{height}">'


def _href(target: Path, base: Path) -> str:
    """A URL relative to the sheet's folder, percent-encoded (spaces, accents, '#', '?')."""
    relative = os.path.relpath(Path(target).resolve(), base)
    return quote(Path(relative).as_posix(), safe="/")


def _anchor(brief_id: str) -> str:
    return "brief-" + quote(brief_id, safe="")


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
