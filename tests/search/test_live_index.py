"""The searcher's index held loaded or memory-mapped: the same answers either way, while the
writer adds, re-writes and removes assets after the snapshot and replaces the snapshot itself."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from indexer import vectors
from indexer.library import Library
from search import live_index
from search.engine import Searcher
from search.live_index import LiveIndex
from search.query import Example, Query
from tests.conftest import commit_vectors

DIM = 32


def _clustered(rng: np.random.Generator, count: int) -> np.ndarray:
    centres = np.random.default_rng(1).standard_normal((20, DIM)).astype(np.float32)
    data = centres[rng.integers(0, 20, count)] + 0.1 * rng.standard_normal((count, DIM)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


class _VectorsOnly:
    """Searches by example vector use no model; the searcher only reads the id and the width."""

    model_id, dim, device = "test-vectors", DIM, "cpu"


@pytest.fixture
def ivf_library(tmp_path, monkeypatch):
    """3000 assets in an IVF snapshot, then writes the snapshot does not hold: 200 new assets,
    50 re-written with other vectors, 40 removed."""
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 1000)
    rng = np.random.default_rng(0)
    library = Library.create_or_open(tmp_path / "lib")
    library.catalog.set_meta(model=_VectorsOnly.model_id, dim=str(DIM))
    truth = {i + 1: v for i, v in enumerate(_clustered(rng, 3000))}  # asset ids start at 1
    commit_vectors(library, np.stack(list(truth.values())))
    snapshot = vectors.save_index(vectors.build_from_catalog(library.catalog, DIM), library.vectors_dir,
                                  library.catalog.generation)
    added = _clustered(rng, 200)
    commit_vectors(library, added, start=3000)
    truth.update({3001 + i: v for i, v in enumerate(added)})
    replaced = np.stack([truth[101 + i] for i in range(50)])
    rewritten = _clustered(rng, 50)
    commit_vectors(library, rewritten, start=100)  # same paths and contents, new vectors
    truth.update({101 + i: v for i, v in enumerate(rewritten)})
    library.catalog.forget([f"/lib/{i}.jpg" for i in range(1000, 1040)])
    removed = np.stack([truth.pop(i) for i in range(1001, 1041)])
    return SimpleNamespace(library=library, snapshot=snapshot, truth=truth, removed=removed, replaced=replaced)


def _answers(searcher: Searcher, probes: np.ndarray) -> list[list[int]]:
    return [[h.asset.id for h in searcher.search(Query(examples=(Example(vector=p, label="probe"),), limit=10,
                                                       include_all=True)).hits] for p in probes]


def _exact(truth: dict[int, np.ndarray], probes: np.ndarray) -> list[set[int]]:
    ids = np.fromiter(truth, dtype=np.int64)
    matrix = np.stack(list(truth.values()))
    return [set(ids[np.argsort(-(matrix @ p))[:10]].tolist()) for p in probes]


def test_a_mapped_snapshot_answers_like_a_loaded_one_after_writes_it_does_not_hold(ivf_library):
    library, truth, removed = ivf_library.library, ivf_library.truth, ivf_library.removed
    probes = np.stack([truth[i] for i in (5, 120, 2999, 3100, 3199)] + list(removed[:5]))
    reader = Library.open(library.path, readonly=True)
    loaded = Searcher(reader, _VectorsOnly())
    mapped = Searcher(reader, _VectorsOnly(), mapped_index=True)
    answers = _answers(mapped, probes)
    assert "memory-mapped, 250 newer vectors beside it" in mapped.index.describe()
    assert "memory-mapped" not in loaded.index.describe()
    assert answers == _answers(loaded, probes)
    assert [set(a) for a in answers] == _exact(truth, probes)  # old, re-written and new assets; none removed


def test_the_mapped_snapshot_hides_what_was_removed_or_rewritten_after_it(ivf_library):
    """At the index's own level (the searcher's exact re-rank would also drop removed ids): no
    removed asset comes back, and a re-written one comes back once, scored by its new vector."""
    library = ivf_library.library
    live = LiveIndex(DIM, mapped=True)
    live.refresh(library.catalog, library.vectors_dir, library.catalog.generation, library.catalog.asset_count())
    gone = set(range(1001, 1041))
    for probe in ivf_library.removed[:10]:
        _, ids = live.search(probe, 50)
        assert len(ids) == 50 and not gone & set(ids.tolist())
    for probe in ivf_library.replaced[:10]:
        scores, ids = live.search(probe, 50)
        assert len(set(ids.tolist())) == len(ids)
        for score, asset_id in zip(scores, ids):
            if 101 <= asset_id <= 150:
                assert score == pytest.approx(float(ivf_library.truth[asset_id] @ probe), abs=1e-5)


def test_a_mapped_reader_follows_the_writer_to_a_new_snapshot(ivf_library):
    library, first, truth = ivf_library.library, ivf_library.snapshot, ivf_library.truth
    mapped = Searcher(Library.open(library.path, readonly=True), _VectorsOnly(), mapped_index=True)
    probe = truth[3050][None, :]
    before = _answers(mapped, probe)
    commit_vectors(library, probe, start=5000)  # a copy of asset 3050, as the end of an index run
    vectors.save_index(vectors.updated_snapshot(library.catalog, library.vectors_dir, DIM), library.vectors_dir,
                       library.catalog.generation)
    assert not first.exists()  # the writer replaced the snapshot the reader had mapped
    after = _answers(mapped, probe)
    assert "memory-mapped, 0 newer vectors beside it" in mapped.index.describe()
    copy = library.catalog.asset_by_path("/lib/5000.jpg").id
    assert set(after[0][:2]) == {3050, copy} and set(after[0]) - {copy} <= set(before[0])


def test_a_side_index_that_would_outgrow_its_limit_loads_the_snapshot_instead(ivf_library, monkeypatch):
    library, truth = ivf_library.library, ivf_library.truth
    monkeypatch.setattr(live_index, "DELTA_LIMIT", 100)  # the 290 writes since the snapshot do not fit
    probes = np.stack([truth[i] for i in (5, 120, 3100)])
    mapped = Searcher(Library.open(library.path, readonly=True), _VectorsOnly(), mapped_index=True)
    assert "memory-mapped" not in mapped.index.describe()
    assert [set(a) for a in _answers(mapped, probes)] == _exact(truth, probes)
