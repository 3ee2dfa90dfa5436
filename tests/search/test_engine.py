"""Searcher over real libraries: filters, paging, examples, deletions, live updates."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.errors import AssetNotFound
from indexer.library import Library
from search.engine import Searcher
from search.query import Example, Filters, Query, parse_text
from tests.conftest import commit_vectors, index_folder, pattern_image, write_images


@pytest.fixture()
def mixed_library(tmp_path, tiny_encoder):
    root = tmp_path / "assets"
    write_images(root / "wide", 12, size=(96, 64))
    write_images(root / "tall", 4, start=100, size=(64, 96), fmt="JPEG")
    write_images(root / "wide2", 3, start=200, size=(64, 64))
    library, _ = index_folder(tmp_path / "lib", [root], tiny_encoder)
    library.close()
    return Library.open(tmp_path / "lib", readonly=True), root


def everything(text="a photo", **kw) -> Query:
    """Random tiny-model weights make calibration meaningless, so these tests search with --all."""
    return Query(parts=parse_text(text), include_all=True, **kw)


def test_filters_do_not_shrink_the_result_count(mixed_library, tiny_encoder):
    library, _ = mixed_library
    searcher = Searcher(library, tiny_encoder)
    hits = searcher.search(everything(limit=4, filters=Filters(orientation="portrait"))).hits
    assert len(hits) == 4 and all(h.asset.orientation == "portrait" for h in hits)
    jpegs = searcher.search(everything(limit=10, filters=Filters(formats=("jpg",)))).hits
    assert len(jpegs) == 4 and {h.asset.format for h in jpegs} == {"JPEG"}


def test_folder_filter_is_a_path_prefix_not_a_string_prefix(mixed_library, tiny_encoder):
    library, root = mixed_library
    searcher = Searcher(library, tiny_encoder)
    hits = searcher.search(everything(limit=50, filters=Filters(folder=str(root / "wide")))).hits
    assert len(hits) == 12 and all(Path(h.asset.path).parent.name == "wide" for h in hits)


def test_size_filters(mixed_library, tiny_encoder):
    library, _ = mixed_library
    searcher = Searcher(library, tiny_encoder)
    hits = searcher.search(everything(limit=50, filters=Filters(min_width=90))).hits
    assert len(hits) == 12
    assert searcher.search(everything(limit=50, filters=Filters(min_height=90))).hits[0].asset.height == 96


def test_pages_do_not_overlap_and_say_when_there_is_more(mixed_library, tiny_encoder):
    library, _ = mixed_library
    searcher = Searcher(library, tiny_encoder)
    first = searcher.search(everything(limit=8))
    second = searcher.search(everything(limit=8, offset=8))
    third = searcher.search(everything(limit=8, offset=16))
    ids = [h.asset.id for r in (first, second, third) for h in r.hits]
    assert len(ids) == 19 == len(set(ids))
    assert first.has_more and second.has_more and not third.has_more
    scores = [h.score for r in (first, second, third) for h in r.hits]
    assert scores == sorted(scores, reverse=True)


def test_query_by_example_asset_finds_itself_first(mixed_library, tiny_encoder):
    library, root = mixed_library
    searcher = Searcher(library, tiny_encoder)
    target = library.catalog.asset_by_path(str(root / "tall" / "img-0101.jpeg"))
    hits = searcher.search(Query(examples=(Example(asset_id=target.id),), limit=3, include_all=True)).hits
    assert hits[0].asset.id == target.id and hits[0].score > 0.999
    by_path = searcher.search(Query(examples=(Example(path=target.path),), limit=1, include_all=True)).hits
    assert by_path[0].asset.id == target.id


def test_query_by_an_outside_image_file(mixed_library, tiny_encoder, tmp_path):
    library, root = mixed_library
    outside = tmp_path / "probe.png"
    pattern_image(3).save(outside)  # same pixels as wide/img-0003.png
    hits = Searcher(library, tiny_encoder).search(
        Query(examples=(Example(path=str(outside)),), limit=1, include_all=True)).hits
    assert Path(hits[0].asset.path).name == "img-0003.png"


def test_unknown_example_is_a_clear_error(mixed_library, tiny_encoder):
    library, _ = mixed_library
    with pytest.raises(AssetNotFound):
        Searcher(library, tiny_encoder).search(Query(examples=(Example(asset_id=99999),)))


def test_running_searcher_sees_new_and_deleted_files(tmp_path, tiny_encoder):
    root = tmp_path / "assets"
    paths = write_images(root, 3)
    library, _ = index_folder(tmp_path / "lib", [root], tiny_encoder)
    reader = Library.open(tmp_path / "lib", readonly=True)
    searcher = Searcher(reader, tiny_encoder)
    assert searcher.size == 3
    write_images(root, 2, start=50)
    paths[0].unlink()
    index_folder(tmp_path / "lib", [root], tiny_encoder)
    hits = searcher.search(everything(limit=10)).hits
    names = {Path(h.asset.path).name for h in hits}
    assert len(hits) == 4 and "img-0000.png" not in names and "img-0050.png" in names


def test_searcher_catches_up_from_the_catalog_when_the_snapshot_is_stale(tmp_path, tiny_encoder):
    """What a kill -9 before the FAISS write leaves behind: catalog newer than the snapshot."""
    root = tmp_path / "assets"
    write_images(root, 3)
    library, _ = index_folder(tmp_path / "lib", [root], tiny_encoder)
    for f in library.vectors_dir.glob("index-*.faiss"):
        f.unlink()
    searcher = Searcher(Library.open(tmp_path / "lib", readonly=True), tiny_encoder)
    assert len(searcher.search(everything(limit=10)).hits) == 3


def test_selective_filter_on_an_approximate_index_still_fills_the_page(tmp_path, tiny_encoder, monkeypatch):
    """IVF probes a few lists; a folder of 30 assets among 3000 may sit in none of them."""
    import numpy as np

    from indexer import vectors

    rng = np.random.default_rng(0)
    data = rng.standard_normal((3000, tiny_encoder.dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    library = Library.create_or_open(tmp_path / "lib")
    library.catalog.set_meta(model=tiny_encoder.model_id, dim=str(tiny_encoder.dim))
    commit_vectors(library, data, folder=lambda i: "/lib/special" if i % 100 == 0 else "/lib/other")
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 1000)
    index = vectors.build_from_catalog(library.catalog, tiny_encoder.dim)
    vectors.save_index(index, library.vectors_dir, library.catalog.generation)
    searcher = Searcher(Library.open(tmp_path / "lib", readonly=True), tiny_encoder)
    assert "IVF" in searcher.index.describe()
    query = Query(examples=(Example(vector=data[1], label="probe"),), filters=Filters(folder="/lib/special"),
                  limit=20, include_all=True)
    hits = searcher.search(query).hits
    assert len(hits) == 20 and all(h.asset.folder == "/lib/special" for h in hits)
    special = data[::100]
    best = int(np.argmax(special @ data[1])) * 100 + 1  # asset ids start at 1
    assert hits[0].asset.id == best


def test_an_approximate_index_ranks_and_scores_with_the_stored_vectors(tmp_path, tiny_encoder, monkeypatch):
    """IVF-SQ codes round scores; the searcher re-scores its candidates with the catalog's floats,
    so a designer sees true cosines in true order."""
    import numpy as np

    from indexer import vectors

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, tiny_encoder.dim)).astype(np.float32)
    data = centres[rng.integers(0, 20, 3000)] + 0.05 * rng.standard_normal((3000, tiny_encoder.dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    library = Library.create_or_open(tmp_path / "lib")
    library.catalog.set_meta(model=tiny_encoder.model_id, dim=str(tiny_encoder.dim))
    commit_vectors(library, data)
    monkeypatch.setattr(vectors, "EXACT_LIMIT", 1000)
    vectors.save_index(vectors.build_from_catalog(library.catalog, tiny_encoder.dim), library.vectors_dir,
                       library.catalog.generation)

    def searched(exact_rerank: bool) -> tuple[float, float]:
        """(recall@10 against exact search, worst gap between a shown score and the true cosine)."""
        searcher = Searcher(Library.open(tmp_path / "lib", readonly=True), tiny_encoder, exact_rerank=exact_rerank)
        assert searcher.index.approximate
        found, gap = 0, 0.0
        for probe in data[::30]:
            hits = searcher.search(Query(examples=(Example(vector=probe, label="probe"),), limit=10,
                                         include_all=True)).hits
            truth = set((np.argsort(-(data @ probe))[:10] + 1).tolist())  # asset ids start at 1
            found += len(truth & {h.asset.id for h in hits})
            gap = max(gap, *(abs(h.score - float(data[h.asset.id - 1] @ probe)) for h in hits))
        return found / (10 * len(data[::30])), gap

    codes_recall, codes_gap = searched(exact_rerank=False)
    assert codes_gap > 1e-4 and codes_recall < 1.0  # the codes alone: rounded scores, neighbours lost
    recall, gap = searched(exact_rerank=True)
    assert recall == 1.0 and gap < 1e-5


class _Counting:
    """The real tiny encoder, counting model calls and how many decodes run at once."""

    def __init__(self, encoder):
        import threading

        self._encoder, self._lock = encoder, threading.Lock()
        self.model_id, self.dim, self.device = encoder.model_id, encoder.dim, encoder.device
        self.text_calls, self.active, self.most_active = [], 0, 0

    def encode_texts(self, texts):
        self.text_calls.append(list(texts))
        return self._encoder.encode_texts(texts)

    def encode_images(self, batch):
        return self._encoder.encode_images(batch)

    def preprocess(self, image):
        import time

        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(0.05)
        with self._lock:
            self.active -= 1
        return self._encoder.preprocess(image)


def test_query_parts_are_embedded_in_one_batch_and_cached(mixed_library, tiny_encoder):
    library, _ = mixed_library
    counting = _Counting(tiny_encoder)
    searcher = Searcher(library, counting)
    searcher.search(everything("beach | sunset:0.5 | -people | beach"))
    searcher.search(everything("beach | harbour"))
    assert counting.text_calls == [["beach", "sunset", "people"], ["harbour"]]


def test_concurrent_example_uploads_decode_at_most_two_at_a_time(mixed_library, tiny_encoder):
    import concurrent.futures
    import io

    library, _ = mixed_library
    counting = _Counting(tiny_encoder)
    searcher = Searcher(library, counting)
    buffer = io.BytesIO()
    pattern_image(5, (256, 256)).save(buffer, "PNG")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        vectors = list(pool.map(lambda _: searcher.embed_image_bytes(buffer.getvalue()), range(6)))
    assert len(vectors) == 6 and counting.most_active == 2
