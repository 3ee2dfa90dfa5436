"""The finished package of a brief: every copy variant rendered into every format the brief lists,
and the batch's contact sheet.

:class:`RenderStage` follows :class:`generation.run.Stage` and runs after the copy stage: it
decodes the chosen image once at full size, finds the crop focus once per format (the brief's
subject against the library's model, else saliency; see :mod:`generation.compose`), and renders
each variant into ``renders/v<N>-<W>x<H>.png`` and ``.jpg`` inside the brief's folder. The
manifest's ``renders`` section lists, per variant and format, the files (relative to the brief's
folder, so the package can be moved), the text boxes, their measured contrast and the crop.

:func:`write_batch_sheet` is an after-batch hook for :class:`generation.run.BriefRun`: it reads
every brief's manifest (briefs kept from an earlier run included) and writes
``contact-sheet.html`` next to ``summary.json``.

:func:`review_drafts` turns a batch's packages into review-panel items (one per rendered copy
variant, with its arm and provenance) for :class:`indexer.reviews.ReviewDesk`, and
:func:`library_report` computes the review report from the catalog's ratings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from generation.check import blocked_variants
from generation.compose import render, save
from generation.focus import find_focus
from generation.contact_sheet import SheetBrief, SheetRender, SheetVariant, write_contact_sheet
from generation.copy.variant import CopyVariant
from generation.formats import AdFormat
from generation.manifest import read_manifest
from generation.report import Rating, Report, build_report
from indexer.decode import decode_image
from indexer.encoders.base import Encoder
from indexer.errors import AssetNotFound, ConfigError
from indexer.library import Library
from indexer.reviews import ReviewDraft
from search.reviews import manual_hours, rating_records

if TYPE_CHECKING:
    from generation.copy.writer import CopyWriter
    from generation.run import BatchResult, BriefState

RENDERS = "renders"
CONTACT_SHEET = "contact-sheet.html"


@dataclass(frozen=True)
class RenderSettings:
    """``decode_side`` bounds the decoded source (the largest format is 8192 px, but a 4096 px
    source already exceeds every common placement); ``max_megapixels`` refuses a decompression
    bomb from its header, like indexing does."""

    decode_side: int = 4096
    max_megapixels: float = 120.0


def render_name(variant: int, fmt: AdFormat) -> str:
    """The file stem of one render: ``v2-1080x1920`` (variants count from 1)."""
    return f"v{variant}-{fmt.name}"


class RenderStage:
    name = "render"

    def __init__(self, library: Library, encoder: Encoder | None = None, settings: RenderSettings | None = None):
        self.library, self.encoder = library, encoder
        self.settings = settings or RenderSettings()

    def run(self, state: "BriefState") -> None:
        copy = state.sections.get("copy") or {}
        if copy.get("status") != "written":
            reason = copy.get("reason") or "no copy was written for this brief"
            state.sections["renders"] = {"status": "skipped", "reason": reason}
            return
        asset = self.library.catalog.asset(copy["asset_id"])
        if asset is None:
            raise AssetNotFound(f"The chosen image (asset {copy['asset_id']}) left the library during the run.",
                                hint="Run the brief again; it will choose again.")
        image = decode_image(None, asset.path, max_pixels=int(self.settings.max_megapixels * 1e6),
                             target=self.settings.decode_side).image
        variants = [CopyVariant.model_validate(v) for v in copy["variants"]]
        formats = [AdFormat.parse(f) for f in state.brief.formats]
        listed = [{"variant": i, "headline": v.headline, "formats": {}} for i, v in enumerate(variants, start=1)]
        folder = state.folder / RENDERS
        for fmt in formats:
            focus = find_focus(image, fmt.aspect, subject=state.brief.subject, encoder=self.encoder)
            for entry, variant in zip(listed, variants):
                rendered = render(image, fmt, variant, focus=focus)
                png, jpeg = save(rendered, folder, render_name(entry["variant"], fmt))
                entry["formats"][fmt.name] = {"png": f"{RENDERS}/{png.name}", "jpeg": f"{RENDERS}/{jpeg.name}",
                                              **rendered.to_dict()}
        state.sections["renders"] = {
            "status": "rendered", "asset_id": asset.id, "image": asset.path,
            "formats": [f.name for f in formats], "variants": listed,
            "files": 2 * len(formats) * len(variants),
        }


def write_batch_sheet(batch: "BatchResult") -> Path:
    """The batch's contact sheet, from each brief's manifest; failed briefs show their error."""
    briefs = [_sheet_brief(result.brief_id, Path(result.folder), result.error) for result in batch.results]
    return write_contact_sheet(briefs, batch.out_dir / CONTACT_SHEET, title=f"Scout batch: {batch.out_dir.name}")


def _sheet_brief(brief_id: str, folder: Path, error: str | None) -> SheetBrief:
    manifest = read_manifest(folder)
    if manifest is None:
        return SheetBrief(brief_id, error=error or "this brief has no finished package")
    copy = manifest.get("copy") or {}
    renders = manifest.get("renders") or {}
    chosen = next((c for c in manifest.get("candidates", []) if c.get("selected")
                   and c.get("asset_id") == copy.get("asset_id")), None)
    chosen = chosen or next((c for c in manifest.get("candidates", []) if c.get("selected")), None)
    image, source = None, ""
    if chosen is not None:
        image = folder / chosen["file"] if chosen.get("file") else Path(chosen["original"])
        source = f"{'generated' if chosen['source'] == 'generated' else 'reused'}: {chosen['original']}"
    rendered = {entry["variant"]: entry["formats"] for entry in renders.get("variants", [])}
    variants = tuple(
        SheetVariant(label=f"Variant {i}", headline=v["headline"], body=v.get("body", ""), cta=v.get("cta", ""),
                     flags=tuple(v.get("flags", [])),
                     renders=tuple(SheetRender(name, folder / files["png"], folder / files["jpeg"],
                                               tuple(files.get("notes", [])))
                                   for name, files in rendered.get(i, {}).items()))
        for i, v in enumerate(copy.get("variants", []), start=1))
    problem = None if variants else (copy.get("reason") or error or f"outcome: {manifest.get('outcome')}")
    return SheetBrief(brief_id, subject=manifest["brief"].get("subject", ""), image=image, image_source=source,
                      variants=variants, error=problem)


def package_stages(writer: "CopyWriter", library: Library, encoder: Encoder, *, render: bool = True) -> list:
    """The stages that turn a brief's chosen image into its package: copy, then renders and their
    brand-safety check (unless ``render`` is off); what the CLI and HTTP brief runs append to the
    standard stages."""
    from generation.check import SafetyCheckStage
    from generation.copy.stage import CopyStage

    stages = [CopyStage(writer, library, encoder)]
    return stages + [RenderStage(library, encoder), SafetyCheckStage(library, encoder)] if render else stages


# --- packages to the review panel -----------------------------------------------------------

@dataclass
class ReviewImport:
    """What a brief-run folder offers the review panel: one draft per rendered copy variant, and
    the briefs that offer nothing, with why."""

    drafts: list[ReviewDraft] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def review_drafts(out_dir: str | Path) -> ReviewImport:
    """Read every brief package in a batch folder into review drafts.

    Arm: ``ai_generated`` when the image the copy was written for is a generated one, else
    ``ai_reused``. Machine seconds: the brief's (sum of its stage timings) shared equally by its
    variants, so a destination's machine time is counted once however many variants it has.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is not a brief-run folder.", hint="Pass the --out folder of `scout brief run`.")
    found = ReviewImport()
    folders = sorted(p for p in out_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        try:
            drafts, problem = _drafts(folder, manifest)
        except ConfigError as exc:
            drafts, problem = [], exc.message
        except (KeyError, TypeError, AttributeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            drafts, problem = [], f"malformed manifest ({type(exc).__name__}: {exc})"
        found.drafts += drafts
        if problem:
            found.skipped.append((folder.name, problem))
    if not found.drafts and not found.skipped:
        raise ConfigError(f"{out_dir} holds no brief package (no <brief>/manifest.json).",
                          hint="Pass the --out folder of `scout brief run`.")
    return found


def _drafts(folder: Path, manifest: dict) -> tuple[list[ReviewDraft], str | None]:
    brief = manifest["brief"]
    copy, renders = manifest.get("copy") or {}, manifest.get("renders") or {}
    if copy.get("status") != "written":
        return [], copy.get("reason") or f"no copy (outcome: {manifest.get('outcome')})"
    if renders.get("status") != "rendered":
        return [], renders.get("reason") or "no renders (run without --no-render)"
    chosen = next((c for c in manifest.get("candidates", []) if c.get("asset_id") == copy["asset_id"]), {})
    arm = "ai_generated" if chosen.get("source") == "generated" else "ai_reused"
    if not isinstance(chosen.get("asset_id"), int):
        return [], "the chosen image is not a catalogued asset"
    variants = copy["variants"]
    if not isinstance(variants, list) or not variants:
        return [], "no copy variants"
    share = float(manifest.get("machine_seconds") or sum(manifest.get("timings", {}).values())) / len(variants)
    files = {entry["variant"]: entry["formats"] for entry in renders.get("variants", [])}
    blocked = blocked_variants(manifest)  # ads the safety check blocked never reach the panel
    if blocked >= set(range(1, len(variants) + 1)):
        return [], "every ad was blocked by the brand-safety check (see the manifest's safety section)"
    drafts = []
    for index, variant in enumerate(variants, start=1):
        if index in blocked:
            continue
        provenance = {
            "arm": arm, "brief_hash": manifest.get("brief_hash"), "run_key": manifest.get("run_key"),
            "outcome": manifest.get("outcome"), "package": str(folder), "variant": index,
            "image": {"source": chosen.get("source"), "asset_id": chosen.get("asset_id"),
                      "original": chosen.get("original"), "score": chosen.get("score"),
                      "generation": chosen.get("generation")},
            "aligner": manifest.get("aligner"), "generator": (manifest.get("decision") or {}).get("generator"),
            "copy": {"writer": variant.get("writer") or copy.get("writer"), "model": variant.get("model") or copy.get("model"),
                     "references": variant.get("references", []), "flags": variant.get("flags", []),
                     "language": variant.get("language")},
        }
        drafts.append(ReviewDraft(
            key=f"{brief['id']}:{str(manifest.get('run_key'))[:16]}:v{index}", destination=brief["id"], arm=arm,
            headline=variant["headline"], body=variant.get("body", ""), cta=variant.get("cta", ""),
            provenance=provenance, machine_seconds=round(share, 4), source=str(folder), image_asset=chosen["asset_id"],
            renders={name: _inside(folder, entry["jpeg"]) for name, entry in files.get(index, {}).items()}))
    return drafts, None


def _inside(folder: Path, name: str) -> Path:
    """A render named by a manifest, refused unless it lies in the brief's package folder."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ConfigError(f"{folder / 'manifest.json'} names a render outside its package: {name!r}.",
                          hint="Import only brief-run folders written by `scout brief run`.")
    return path


def library_report(library: Library) -> Report:
    """The review report over every rating in the library's catalog and the manual hours entered."""
    return build_report([Rating(**record) for record in rating_records(library)], manual_hours(library))
