"""The brief run: every brief of a batch through a list of stages, resumable, with per-stage timings.

    retrieve (pool library candidates) -> align (score them) -> decide (reuse, or generate the
    shortfall and score it on the same scale, or report "needs generation") -> files (link the
    candidates into the brief's folder) -> manifest.json

A stage is anything with a ``name`` and ``run(state)`` that reads and extends the
:class:`BriefState`; later stages (copy, compose, safety check, package) are appended to the list
without touching the others, and what they add under ``state.sections`` lands in the manifest.

Resuming: the brief's folder is built under a temporary name and swapped in whole, and its manifest
records a ``run_key`` (brief content hash + aligner model + generator + threshold). A run skips
a brief whose finished manifest has the same key, and redoes one whose brief or settings changed;
a run killed mid-brief leaves no half folder. Generated images are asked for with seeds derived
from the brief's hash, so redoing a brief asks for the same images, which the library stores once.
All state lives in the output folder; the catalog is written only through indexer/.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

from generation.align import Aligner, Alignment, AlignSettings, CandidateImage, load_aligner
from generation.align.threshold import ReuseThreshold, reuse_threshold
from generation.briefs import Brief, BriefError, generation_prompt
from generation.generate import GenerationRequest, Generator, generate_into_library
from generation.manifest import MANIFEST, SCHEMA_VERSION, SUMMARY, read_manifest, write_json
from generation.retrieve import PooledCandidate, RetrieveSettings, retrieve
from indexer.encoders.base import Encoder
from indexer.errors import ScoutError
from indexer.library import Library
from search.engine import Searcher

OUTCOMES = ("reused", "generated", "needs_generation")


@dataclass(frozen=True)
class GeneratedFile:
    """One generated image as the run sees it: where it is, its library asset (when it joined the
    library) and its provenance."""

    path: Path
    asset_id: int | None
    provenance: dict


class ImageMaker(Protocol):
    """The generate step's view of a generator: images for a prompt, saved where they belong."""

    name: str

    def make(self, brief: Brief, prompt: str, negative_prompt: str, n: int, seed: int,
             size: tuple[int, int]) -> list[GeneratedFile]: ...


class LibraryImageMaker:
    """Generates with a registry generator and saves every image into the library (indexed at
    once, with provenance, under the library's folder for generated work of this brief)."""

    def __init__(self, generator: Generator, library: Library, encoder: Encoder):
        self.generator, self.library, self.encoder = generator, library, encoder
        self.name = f"{generator.name}:{generator.model_id}"  # in the run key: another model redoes briefs

    def make(self, brief: Brief, prompt: str, negative_prompt: str, n: int, seed: int,
             size: tuple[int, int]) -> list[GeneratedFile]:
        request = GenerationRequest(prompt, negative_prompt, n=n, width=size[0], height=size[1], seed=seed)
        saved = generate_into_library(self.generator, request, self.library, self.encoder, brief_id=brief.id)
        return [GeneratedFile(s.path, s.asset.id, s.provenance.to_dict()) for s in saved]


@dataclass
class Candidate:
    source: str  # "library" or "generated"
    asset_id: int | None
    original: str
    found_by: list[str] = field(default_factory=list)
    generation: dict | None = None
    alignment: Alignment | None = None
    selected: bool = False
    file: str | None = None

    @property
    def score(self) -> float | None:
        return None if self.alignment is None else self.alignment.score


@dataclass
class BriefState:
    brief: Brief
    folder: Path  # the temporary folder being built; swapped in when the brief is done
    pool: list[PooledCandidate] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    outcome: str = ""
    decision: dict = field(default_factory=dict)
    sections: dict = field(default_factory=dict)  # later stages' additions to the manifest
    timings: dict[str, float] = field(default_factory=dict)

    def ranked(self) -> list[Candidate]:
        return sorted(self.candidates, key=lambda c: (c.score is None, -(c.score or 0.0), c.source,
                                                      c.asset_id or 0, c.original))


class Stage(Protocol):
    name: str

    def run(self, state: BriefState) -> None: ...


class RetrieveStage:
    name = "retrieve"

    def __init__(self, searcher: Searcher, settings: RetrieveSettings | None = None):
        self.searcher, self.settings = searcher, settings or RetrieveSettings()

    def run(self, state: BriefState) -> None:
        state.pool = retrieve(self.searcher, state.brief, self.settings)
        state.candidates = [Candidate("library", c.asset_id, c.path, list(c.found_by)) for c in state.pool]


class AlignStage:
    name = "align"

    def __init__(self, aligner: Aligner):
        self.aligner = aligner

    def run(self, state: BriefState) -> None:
        """Scores the pooled candidates, best retrieved first; an aligner that costs a model call
        per image (``max_candidates``) scores only that many, and the rest say so."""
        todo = [c for c in state.candidates if c.alignment is None]
        limit = self.aligner.max_candidates
        if limit is not None and len(todo) > limit:
            for candidate in todo[limit:]:
                candidate.alignment = Alignment(None, [], f"not scored: the {self.aligner.name} aligner scores "
                                                f"the {limit} best retrieved candidates")
            todo = todo[:limit]
        align(self.aligner, state.brief, todo)


def align(aligner: Aligner, brief: Brief, candidates: list[Candidate]) -> None:
    images = [CandidateImage(c.asset_id, Path(c.original)) for c in candidates]
    for candidate, alignment in zip(candidates, aligner.align(brief, images), strict=True):
        candidate.alignment = alignment


def generation_seed(brief: Brief, index: int) -> int:
    """Deterministic per brief and image, so a redone brief asks for the same images."""
    return (int(brief.content_hash()[:8], 16) + index) % 2**31


class DecideStage:
    """Reuse when enough library photos clear the threshold; otherwise generate the shortfall (and
    align it with the same aligner), or, with no generator, report the prompt that would be used."""

    name = "decide"

    def __init__(self, aligner: Aligner, threshold: ReuseThreshold, maker: ImageMaker | None = None):
        self.aligner, self.threshold, self.maker = aligner, threshold, maker

    def run(self, state: BriefState) -> None:
        brief = state.brief
        reusable = [c for c in state.ranked() if c.source == "library" and c.score is not None
                    and c.score >= self.threshold.value][: brief.candidates]
        for candidate in reusable:
            candidate.selected = True
        shortfall = brief.candidates - len(reusable)
        prompt, negative = generation_prompt(brief)
        state.decision = {
            "threshold": self.threshold.as_dict(), "wanted": brief.candidates, "reusable": len(reusable),
            "shortfall": shortfall, "generator": self.maker.name if self.maker else None,
            "prompt": prompt if shortfall else None, "negative_prompt": negative if shortfall else None,
            "error": None,
        }
        if not shortfall:
            state.outcome = "reused"
            return
        if self.maker is None:
            state.outcome = "needs_generation"
            return
        width, height = (int(v) for v in brief.formats[0].split("x"))
        try:
            made = self.maker.make(brief, prompt, negative, shortfall, generation_seed(brief, 0), (width, height))
        except ScoutError as exc:
            state.outcome, state.decision["error"] = "needs_generation", exc.message
            return
        fresh = [Candidate("generated", g.asset_id, str(g.path), [], g.provenance, selected=True) for g in made]
        align(self.aligner, brief, fresh)
        state.candidates += fresh
        state.outcome = "generated"


class FilesStage:
    """Links (or copies) the selected candidates and the next best into the brief's folder,
    named by rank so the folder sorts like the manifest."""

    name = "files"

    def __init__(self, keep: int = 10, copy: bool = False):
        self.keep, self.copy = keep, copy

    def run(self, state: BriefState) -> None:
        ranked = state.ranked()
        chosen = [c for c in ranked if c.selected] + [c for c in ranked if not c.selected][: self.keep]
        for rank, candidate in enumerate(ranked, start=1):
            if candidate not in chosen:
                continue
            source = Path(candidate.original)
            target = state.folder / f"{rank:02d}-{candidate.source}-{source.name}"
            if self.copy:
                shutil.copy2(source, target)
            else:
                os.symlink(source, target)
            candidate.file = target.name


@dataclass(frozen=True)
class BriefProgress:
    brief_id: str
    index: int  # 1-based position in the batch
    total: int
    stage: str  # a stage name, "skipped" (finished earlier) or "done"


@dataclass
class BriefResult:
    brief_id: str
    outcome: str  # one of OUTCOMES, or "failed" (an error stopped this brief; the batch went on)
    best_score: float | None
    reused: int
    generated: int
    folder: str
    resumed: bool = False
    error: str | None = None
    prompt: str | None = None  # what a generator is (or would be) asked for, when there was a shortfall
    negative_prompt: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"id": self.brief_id, "outcome": self.outcome, "best_score": self.best_score,
                "reused": self.reused, "generated": self.generated, "folder": self.folder,
                "resumed": self.resumed, "error": self.error, "prompt": self.prompt,
                "negative_prompt": self.negative_prompt, "timings": self.timings}


@dataclass
class BatchResult:
    out_dir: Path
    results: list[BriefResult]
    errors: list[BriefError]
    seconds: float

    def counts(self) -> dict[str, int]:
        outcomes = [r.outcome for r in self.results]
        return {name: outcomes.count(name) for name in (*OUTCOMES, "failed")} | {"invalid": len(self.errors)}


def default_stages(searcher: Searcher, aligner: Aligner, threshold: ReuseThreshold,
                   maker: ImageMaker | None = None, *, copy: bool = False,
                   retrieve_settings: RetrieveSettings | None = None) -> list[Stage]:
    return [RetrieveStage(searcher, retrieve_settings), AlignStage(aligner),
            DecideStage(aligner, threshold, maker), FilesStage(copy=copy)]


def brief_run(searcher: Searcher, out_dir: Path, *, aligner: str = "clip", align_settings: AlignSettings | None = None,
              threshold: ReuseThreshold | None = None, maker: ImageMaker | None = None, copy: bool = False,
              progress: Callable[[BriefProgress], None] | None = None, extra_stages: Sequence[Stage] = (),
              after_batch: Sequence[Callable[["BatchResult"], None]] = (),
              retrieve_settings: RetrieveSettings | None = None) -> "BriefRun":
    """The standard run, wired from names and settings (what the CLI and HTTP jobs use).
    ``threshold`` overrides the built-in one for the aligner's model (refused for another model);
    ``extra_stages`` (copy, render...) run after the standard ones, ``after_batch`` hooks once per batch."""
    the_aligner = load_aligner(aligner, searcher, align_settings)
    chosen = reuse_threshold(the_aligner.model_id, threshold)
    stages = default_stages(searcher, the_aligner, chosen, maker, copy=copy,
                            retrieve_settings=retrieve_settings) + list(extra_stages)
    return BriefRun(stages, out_dir, aligner=the_aligner, threshold=chosen,
                    generator=None if maker is None else maker.name, progress=progress, after_batch=after_batch,
                    settings_key=f"{retrieve_settings or RetrieveSettings()!r} copy={copy}")


class BriefRun:
    def __init__(self, stages: list[Stage], out_dir: Path, *, aligner: Aligner, threshold: ReuseThreshold,
                 generator: str | None = None, progress: Callable[[BriefProgress], None] | None = None,
                 after_batch: Sequence[Callable[["BatchResult"], None]] = (), settings_key: str = ""):
        self.stages = stages
        self.settings_key = settings_key  # other settings whose change must redo a finished brief
        self.after_batch = list(after_batch)  # e.g. the contact sheet: runs once the batch is done
        self.out_dir = Path(out_dir)
        self.aligner = aligner
        self.threshold = threshold
        self.generator = generator
        self.progress = progress or (lambda event: None)

    def run_key(self, brief: Brief) -> str:
        parts = [brief.content_hash(), self.aligner.model_id, self.generator or "none",
                 repr(self.threshold.value), self.threshold.model_id, self.settings_key,
                 *(s.name for s in self.stages)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def run(self, briefs: list[Brief], errors: list[BriefError] = ()) -> BatchResult:
        started = time.perf_counter()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        results: list[BriefResult] = []
        for index, brief in enumerate(briefs, start=1):
            results.append(self._one(brief, index, len(briefs)))
            self._write_summary(results, list(errors), time.perf_counter() - started, len(briefs))
        batch = BatchResult(self.out_dir, results, list(errors), time.perf_counter() - started)
        for hook in self.after_batch:
            hook(batch)
        return batch

    def _one(self, brief: Brief, index: int, total: int) -> BriefResult:
        folder = self.out_dir / brief.id
        key = self.run_key(brief)
        done = read_manifest(folder)
        if done is not None and done.get("run_key") == key:
            self.progress(BriefProgress(brief.id, index, total, "skipped"))
            return _result_from_manifest(done, folder, resumed=True)
        building = self.out_dir / f".building-{brief.id}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        state = BriefState(brief, building)
        try:
            for stage in self.stages:
                self.progress(BriefProgress(brief.id, index, total, stage.name))
                began = time.perf_counter()
                stage.run(state)
                state.timings[stage.name] = round(time.perf_counter() - began, 4)
            manifest = self._manifest(state, key)
            write_json(building / MANIFEST, manifest)
        except (ScoutError, OSError) as exc:  # this brief fails; the batch goes on
            shutil.rmtree(building, ignore_errors=True)
            self.progress(BriefProgress(brief.id, index, total, "done"))
            message = exc.message if isinstance(exc, ScoutError) else f"{type(exc).__name__}: {exc}"
            return BriefResult(brief.id, "failed", None, 0, 0, str(folder), error=message, timings=state.timings)
        _swap_in(building, folder)
        self.progress(BriefProgress(brief.id, index, total, "done"))
        return _result_from_manifest(manifest, folder, resumed=False)

    def _manifest(self, state: BriefState, key: str) -> dict:
        ranked = state.ranked()
        best = next((rank for rank, c in enumerate(ranked, start=1) if c.score is not None), None)
        candidates = []
        for rank, c in enumerate(ranked, start=1):
            alignment = c.alignment or Alignment(None, [], "not aligned")
            candidates.append({
                "rank": rank, "source": c.source, "asset_id": c.asset_id, "original": c.original,
                "file": c.file, "found_by": c.found_by,
                "score": None if alignment.score is None else round(alignment.score, 4),
                "clears_threshold": alignment.score is not None and alignment.score >= self.threshold.value,
                "selected": c.selected, "best": rank == best,
                "aspects": [a.as_dict() for a in alignment.aspects], "error": alignment.error,
                "generation": c.generation,
            })
        return {
            "schema_version": SCHEMA_VERSION,
            "brief": state.brief.model_dump(mode="json"),
            "brief_hash": state.brief.content_hash(),
            "run_key": key,
            "outcome": state.outcome,
            "decision": state.decision,
            "aligner": {"name": self.aligner.name, "model_id": self.aligner.model_id, "scale": self.aligner.scale},
            "candidates": candidates,
            "best": best,
            **state.sections,
            "timings": state.timings,
            "machine_seconds": round(sum(state.timings.values()), 4),
        }

    def _write_summary(self, results: list[BriefResult], errors: list[BriefError], seconds: float,
                       total: int) -> None:
        write_json(self.out_dir / SUMMARY, {
            "schema_version": SCHEMA_VERSION,
            "briefs": [r.as_dict() for r in results],
            "invalid": [{"source": e.source, "brief": e.brief, "field": e.field, "message": e.message}
                        for e in errors],
            "finished": len(results), "total": total,
            "counts": BatchResult(self.out_dir, results, errors, seconds).counts(),
            "seconds": round(seconds, 3),
        })


def _swap_in(building: Path, folder: Path) -> None:
    old = folder.with_name(f".old-{folder.name}")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        os.replace(folder, old)
    os.replace(building, folder)
    shutil.rmtree(old, ignore_errors=True)


def _result_from_manifest(manifest: dict, folder: Path, *, resumed: bool) -> BriefResult:
    candidates = manifest.get("candidates", [])
    best = next((c for c in candidates if c.get("best")), None)
    selected = [c for c in candidates if c.get("selected")]
    decision = manifest.get("decision", {})
    return BriefResult(
        manifest["brief"]["id"], manifest["outcome"], None if best is None else best["score"],
        sum(c["source"] == "library" for c in selected), sum(c["source"] == "generated" for c in selected),
        str(folder), resumed=resumed, error=decision.get("error"), prompt=decision.get("prompt"),
        negative_prompt=decision.get("negative_prompt"), timings=manifest.get("timings", {}),
    )


def run_in_library(library_path: Path, encoder: Encoder, briefs: list[Brief], errors: list[BriefError],
                   out_dir: Path, *, aligner: str = "clip", threshold: ReuseThreshold | None = None,
                   progress: Callable[[BriefProgress], None] | None = None,
                   extra_stages: Callable[[Library], Sequence[Stage]] | None = None,
                   after_batch: Sequence[Callable[[BatchResult], None]] = (),
                   retrieve_settings: RetrieveSettings | None = None) -> BatchResult:
    """A batch on its own read-only handle of the library (what a background job needs: the
    server's handle belongs to its request threads). ``extra_stages`` builds the stages appended
    on that handle (e.g. ``lambda lib: package_stages(writer, lib, encoder)`` for copy + renders)."""
    library = Library.open(library_path, readonly=True)
    try:
        searcher = Searcher(library, encoder)
        stages = list(extra_stages(library)) if extra_stages else []
        return brief_run(searcher, out_dir, aligner=aligner, threshold=threshold, progress=progress,
                         extra_stages=stages, after_batch=after_batch,
                         retrieve_settings=retrieve_settings).run(briefs, errors)
    finally:
        library.close()
