"""The brief run end to end on sample_assets with the offline model: reuse, generate, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from generation.align import load_aligner
from generation.align.threshold import reuse_threshold
from generation.briefs import Brief, BriefError
from generation.generate import GENERATORS, GeneratedImage, load_generator
from generation.retrieve import RetrieveSettings
from generation.run import BriefRun, LibraryImageMaker, brief_run, default_stages
from indexer.errors import ServiceUnavailable
from indexer.generated import Provenance, read_provenance
from indexer.library import Library
from search.engine import Searcher
from tests.conftest import pattern_image

PALACE = Brief(id="beijing", subject="the Summer Palace in Beijing", selling_points=["imperial architecture"],
               must_show=["a palace"], must_avoid=["crowds"], candidates=1, formats=["96x64"])
TRAM = Brief(id="lisbon", subject="a yellow tram in Lisbon at sunset", must_avoid=["cars"], candidates=2,
             formats=["96x64"])


class PatternGenerator:
    """A real generator backend for tests: deterministic pictures per seed, with provenance."""

    name = "patterns"
    model_id = "patterns-v1"

    def __init__(self, calls: list, fail: bool = False):
        self.calls, self.fail = calls, fail

    def generate(self, request):
        self.calls.append(request)
        if self.fail:
            raise ServiceUnavailable("The image endpoint http://127.0.0.1:9/v1 stayed down after 4 attempts.")
        return [GeneratedImage(pattern_image(request.seed + i, (request.width, request.height)),
                               Provenance(request.prompt, self.name, self.model_id, request.width, request.height,
                                          negative_prompt=request.negative_prompt, seed=request.seed + i))
                for i in range(request.n)]


@pytest.fixture
def library_copy(sample_library, tmp_path):
    """A writable copy of the sample library (generated images are added to it)."""
    library, _ = sample_library
    shutil.copytree(library.path, tmp_path / "lib")
    return tmp_path / "lib"


def run_batch(library_path, encoder, out, briefs, *, generator=None, errors=()):
    searcher = Searcher(Library.open(library_path, readonly=True), encoder)
    aligner = load_aligner("clip", searcher)
    threshold = reuse_threshold(aligner.model_id)
    maker, writer = None, None
    if generator is not None:
        writer = Library.open(library_path)
        maker = LibraryImageMaker(generator, writer, encoder)
    runner = BriefRun(default_stages(searcher, aligner, threshold, maker), out, aligner=aligner,
                      threshold=threshold, generator=None if generator is None else generator.name)
    try:
        return runner.run(briefs, list(errors))
    finally:
        if writer is not None:
            writer.close()


def manifest(out: Path, brief_id: str) -> dict:
    return json.loads((out / brief_id / "manifest.json").read_text())


def test_reuse_for_what_the_library_has_generation_for_what_it_lacks(library_copy, offline_encoder, tmp_path):
    calls = []
    out = tmp_path / "out"
    result = run_batch(library_copy, offline_encoder, out, [PALACE, TRAM], generator=PatternGenerator(calls))
    assert [(r.brief_id, r.outcome, r.reused, r.generated) for r in result.results] == [
        ("beijing", "reused", 1, 0), ("lisbon", "generated", 0, 2)]
    assert len(calls) == 1 and calls[0].n == 2  # only the tram brief asked, only for its shortfall

    palace = manifest(out, "beijing")
    assert palace["schema_version"] == 1 and palace["brief"]["id"] == "beijing"
    best = palace["candidates"][0]
    assert (best["rank"], best["best"], best["selected"], best["source"]) == (1, True, True, "library")
    assert Path(best["original"]).name == "chinese-temple-summer-palace.jpg"
    assert (out / "beijing" / best["file"]).resolve() == Path(best["original"]).resolve()
    assert palace["decision"]["prompt"] is None and palace["decision"]["shortfall"] == 0

    tram = manifest(out, "lisbon")
    generated = [c for c in tram["candidates"] if c["source"] == "generated"]
    assert len(generated) == 2 and all(c["selected"] and c["score"] is not None for c in generated)
    assert all(c["aspects"] and c["asset_id"] for c in generated)  # scored on the same scale, and indexed
    first = Path(generated[0]["original"])
    assert first.is_relative_to(library_copy / "generated") and (out / "lisbon" / generated[0]["file"]).exists()
    provenance = read_provenance(first)
    assert provenance.brief_id == "lisbon" and provenance.prompt == tram["decision"]["prompt"]
    assert provenance.negative_prompt.startswith("cars")
    assert generated[0]["generation"]["seed"] == provenance.seed

    # The generated images joined the library: the next search finds them.
    searcher = Searcher(Library.open(library_copy, readonly=True), offline_encoder)
    assert searcher.size == 20
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"reused": 1, "generated": 1, "needs_generation": 0, "failed": 0, "invalid": 0}


def test_no_generator_means_needs_generation_with_the_exact_prompt(sample_library, offline_encoder, tmp_path):
    library, _ = sample_library
    out = tmp_path / "out"
    error = BriefError("batch.yaml", "brief 3", "subject", "Field required")
    result = run_batch(library.path, offline_encoder, out, [TRAM], errors=[error])
    [tram] = result.results
    assert tram.outcome == "needs_generation"
    assert tram.prompt.startswith("Advertising photograph of a yellow tram in Lisbon at sunset")
    assert tram.negative_prompt.startswith("cars")
    data = manifest(out, "lisbon")
    assert not any(c["source"] == "generated" for c in data["candidates"])
    assert not any(c["selected"] for c in data["candidates"])
    assert all(Path(f).is_symlink() for f in (out / "lisbon").iterdir() if f.name != "manifest.json")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["invalid"] == [{"source": "batch.yaml", "brief": "brief 3", "field": "subject",
                                   "message": "Field required"}]


def test_a_failing_generator_is_reported_per_brief_and_the_batch_goes_on(library_copy, offline_encoder, tmp_path):
    result = run_batch(library_copy, offline_encoder, tmp_path / "out", [TRAM, PALACE],
                       generator=PatternGenerator([], fail=True))
    assert [(r.outcome, r.error) for r in result.results] == [
        ("needs_generation", "The image endpoint http://127.0.0.1:9/v1 stayed down after 4 attempts."),
        ("reused", None)]


def test_finished_briefs_are_kept_and_changed_ones_redone(sample_library, offline_encoder, tmp_path):
    library, _ = sample_library
    out = tmp_path / "out"
    run_batch(library.path, offline_encoder, out, [PALACE, TRAM])
    before = manifest(out, "beijing")
    changed = TRAM.model_copy(update={"tone": "romantic"})
    again = run_batch(library.path, offline_encoder, out, [PALACE, changed])
    assert [(r.brief_id, r.resumed) for r in again.results] == [("beijing", True), ("lisbon", False)]
    assert manifest(out, "beijing") == before  # untouched, timings included
    assert manifest(out, "lisbon")["brief"]["tone"] == "romantic"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half-built folders left


def test_a_registered_generator_loads_through_the_registry(library_copy, offline_encoder, tmp_path):
    calls = []
    with GENERATORS.registered("patterns", lambda args, options: PatternGenerator(calls)):
        generator = load_generator("patterns")
    result = run_batch(library_copy, offline_encoder, tmp_path / "out", [TRAM], generator=generator)
    assert result.results[0].outcome == "generated" and len(calls) == 1
    generated = [c for c in manifest(tmp_path / "out", "lisbon")["candidates"] if c["source"] == "generated"]
    assert Image.open(generated[0]["original"]).size == (96, 64)  # the brief's first format


class RefusesLisbon:
    """An appended stage (as copy or compose stages are) that fails for one brief."""

    name = "check"

    def run(self, state):
        if state.brief.id == "lisbon":
            raise ServiceUnavailable("The safety service at http://127.0.0.1:9 stayed down.")
        state.sections["check"] = {"passed": True}


def test_a_stage_that_fails_fails_its_brief_only(sample_library, offline_encoder, tmp_path):
    library, _ = sample_library
    searcher = Searcher(Library.open(library.path, readonly=True), offline_encoder)
    out = tmp_path / "out"
    run = brief_run(searcher, out, extra_stages=[RefusesLisbon()])
    result = run.run([TRAM, PALACE])
    assert [(r.brief_id, r.outcome, r.error) for r in result.results] == [
        ("lisbon", "failed", "The safety service at http://127.0.0.1:9 stayed down."), ("beijing", "reused", None)]
    assert not (out / "lisbon").exists() and manifest(out, "beijing")["check"] == {"passed": True}
    assert json.loads((out / "summary.json").read_text())["counts"]["failed"] == 1
    again = run.run([TRAM, PALACE])  # a failed brief is tried again, a finished one kept
    assert [(r.outcome, r.resumed) for r in again.results] == [("failed", False), ("reused", True)]
    other_settings = brief_run(searcher, out, extra_stages=[RefusesLisbon()],
                               retrieve_settings=RetrieveSettings(include_generated=False))
    assert not other_settings.run([PALACE]).results[0].resumed  # other settings redo a finished brief
