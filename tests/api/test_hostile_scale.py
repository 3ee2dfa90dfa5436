"""A hostile pass over this session's search paths at scale, as a user meets them: `scout search`
(real subprocesses) over a memory-mapped IVF snapshot, the same library over a real uvicorn
server (snapshot loaded into RAM), damaged snapshots, mass deletions, the calibration sample, and
GET /api/duplicates paging and caching across a server's own index job.

Eleven of these failed before the fixes they drove (ef17b24 and the commit after it): pages that
repeated assets as deeper lookups re-ranked more, damaged or other-width snapshots that stopped
search, the server and `scout index`, a shrunk library whose IVF probes missed what was left, counts
taken from the snapshot, a calibration sample that skipped the newer half of a library, and
duplicate pages that drifted when the library changed or the server restarted."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from api.app import create_app
from api.deps import ServerSettings
from indexer import vectors
from indexer.library import Library
from tests.api.conftest import LiveServer
from tests.api.test_cli import scout
from tests.conftest import commit_vectors, index_folder, write_images

DIM = 384  # the offline model's width: `scout search` and the server load it for the library
CLUSTERS = 3
ASSETS = 3000


def _tight_clusters(rng: np.random.Generator, count: int) -> np.ndarray:
    """Three tight clusters: neighbours differ by less than the IVF's 8-bit codes can tell, as in
    a large archive of one shoot's near-identical frames."""
    centres = np.random.default_rng(7).standard_normal((CLUSTERS, DIM)).astype(np.float32)
    data = centres[rng.integers(0, CLUSTERS, count)] + 0.01 * rng.standard_normal((count, DIM)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def ivf_library(tmp_path_factory, offline_encoder):
    """3000 assets with the offline model's id and width in a real IVF snapshot (built with a
    patched EXACT_LIMIT; readers decide by the file they find, so `scout search` maps it)."""
    path = tmp_path_factory.mktemp("hostile-scale") / "lib"
    library = Library.create_or_open(path)
    library.catalog.set_meta(model=offline_encoder.model_id, dim=str(DIM))
    data = _tight_clusters(np.random.default_rng(0), ASSETS)
    commit_vectors(library, data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vectors, "EXACT_LIMIT", 1000)
        index = vectors.build_from_catalog(library.catalog, DIM)
    assert vectors.is_approximate(index)
    vectors.save_index(index, library.vectors_dir, library.catalog.generation)
    library.close()
    return path, data


@pytest.fixture
def ivf_copy(ivf_library, tmp_path):
    """A writable copy of the IVF library, for tests that change it after the snapshot."""
    path, data = ivf_library
    shutil.copytree(path, tmp_path / "lib")
    return tmp_path / "lib", data


def search_json(library, *args) -> list[dict]:
    result = scout("search", *args, "--json", "--library", library)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def forget(path, numbers: range) -> int:
    """Files /lib/{n}.jpg gone since the snapshot, as an index run commits it; returns the
    assets left."""
    library = Library.open(path)
    library.catalog.forget([f"/lib/{i}.jpg" for i in numbers])
    left = library.catalog.asset_count()
    library.close()
    return left


# -- exact re-ranking and paging -------------------------------------------------------------------

def test_paging_search_results_of_an_ivf_library_over_http_never_repeats_an_asset(ivf_library, offline_encoder):
    path, _ = ivf_library
    with LiveServer(create_app(path, offline_encoder, ServerSettings())) as server:
        client = server.client()

        def page(offset: int, limit: int = 10) -> list[int]:
            answer = client.get("/api/search", params={"like": 17, "limit": limit, "offset": offset})
            assert answer.status_code == 200, answer.text
            return [r["asset"]["id"] for r in answer.json()["results"]]

        pages = [page(offset) for offset in range(0, 60, 10)]
        shown = sum(pages, [])
        assert len(shown) == 60
        repeated = sorted({i for i in shown if shown.count(i) > 1})
        assert repeated == [], f"assets shown on two pages: {repeated}"
        assert shown == page(0, 60)  # page by page is the same list as one long page


def test_scout_search_offset_pages_of_a_mapped_ivf_library_never_repeat_an_asset(ivf_library):
    path, _ = ivf_library
    pages = [[h["id"] for h in search_json(path, "--like", 17, "--limit", 10, "--offset", offset)]
             for offset in (30, 40, 50)]
    shown = sum(pages, [])
    assert len(set(shown)) == len(shown) == 30, f"repeated: {sorted({i for i in shown if shown.count(i) > 1})}"


def test_re_ranked_scores_are_the_exact_cosines(ivf_library):
    """What re-ranking promises and keeps: every score `scout search` prints over the mapped IVF
    snapshot is the exact cosine of the stored vectors, best first."""
    path, data = ivf_library
    hits = search_json(path, "--like", 17, "--limit", 40)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and len(hits) == 40
    for hit in hits:
        exact = float(data[hit["id"] - 1] @ data[16])
        assert hit["score"] == pytest.approx(exact, abs=1e-5)


# -- the mapped snapshot and what the catalog wrote after it -------------------------------------

def test_mapped_search_after_rewrites_removals_and_additions_shows_each_live_asset_once(ivf_copy, offline_encoder):
    """Held up: assets re-written after the snapshot come back once with their new vector, removed
    ones never, new ones (in another folder) are found and the folder filter keeps to them."""
    path, data = ivf_copy
    library = Library.open(path)
    rng = np.random.default_rng(3)
    commit_vectors(library, _tight_clusters(rng, 40), start=ASSETS, folder=lambda i: "/shoots/new")
    commit_vectors(library, _tight_clusters(rng, 30), start=100)  # ids 101..130 re-written
    library.catalog.forget([f"/lib/{i}.jpg" for i in range(200, 260)])  # ids 201..260 removed
    new_id = library.catalog.asset_by_path(f"/shoots/new/{ASSETS}.jpg").id
    library.close()

    hits = search_json(path, "--like", new_id, "--limit", 200)
    ids = [h["id"] for h in hits]
    assert ids[0] == new_id and len(ids) == len(set(ids)) == 200
    assert not set(ids) & set(range(201, 261))
    filtered = search_json(path, "--like", new_id, "--limit", 100, "--folder", "/shoots/new")
    assert len(filtered) == 40 and {h["folder"] for h in filtered} == {"/shoots/new"}
    gone = scout("search", "--like", 205, "--library", path)
    assert gone.returncode == 7 and "Traceback" not in gone.stderr


@pytest.fixture
def shrunk_copy(ivf_copy):
    """The IVF library after 2990 of its 3000 assets were removed since the snapshot."""
    path, _ = ivf_copy
    assert forget(path, range(10, ASSETS)) == 10
    return path


def test_a_library_shrunk_since_its_ivf_snapshot_still_lists_every_remaining_asset(shrunk_copy):
    ids = {h["id"] for h in search_json(shrunk_copy, "a cat", "--all", "--limit", 50)}
    assert ids == set(range(1, 11))


def test_a_library_emptied_since_its_ivf_snapshot_answers_nothing_without_a_traceback(ivf_copy):
    path, _ = ivf_copy
    assert forget(path, range(ASSETS)) == 0
    assert search_json(path, "a cat", "--all") == []


def test_a_snapshot_stamped_newer_than_the_catalog_is_not_trusted(ivf_copy):
    """Held up: a snapshot from a newer generation (a catalog restored from a backup) is passed
    over; the answer comes from the catalog, removed assets included nowhere."""
    path, _ = ivf_copy
    snapshot = vectors.newest_index_file(path / "vectors")[0]
    snapshot.rename(snapshot.with_name("index-999.faiss"))
    forget(path, range(16, 40))  # ids 17..40 removed
    ids = [h["id"] for h in search_json(path, "--like", 5, "--limit", 100)]
    assert ids[0] == 5 and len(ids) == len(set(ids)) == 100 and not set(ids) & set(range(17, 41))


# -- damaged snapshots -------------------------------------------------------------------------------

@pytest.fixture
def small_library(tmp_path, offline_encoder):
    root = tmp_path / "assets"
    write_images(root, 4, size=(160, 120))
    library, _ = index_folder(tmp_path / "lib", [root], offline_encoder)
    library.close()
    return tmp_path / "lib", root


def damage_snapshot(library_path, damage: str) -> None:
    snapshot = vectors.newest_index_file(library_path / "vectors")[0]
    size = snapshot.stat().st_size
    if damage == "a folder":
        snapshot.unlink()
        snapshot.mkdir()
        return
    snapshot.write_bytes({"empty": b"", "truncated": snapshot.read_bytes()[: size // 2],
                          "garbage": bytes(range(256)) * (size // 256)}[damage])


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "a folder"])
def test_scout_search_on_a_damaged_snapshot_answers_or_says_what_to_do(small_library, damage):
    path, _ = small_library
    damage_snapshot(path, damage)
    result = scout("search", "a cat", "--all", "--library", path)
    assert "Traceback" not in result.stderr, result.stderr[-400:]
    assert result.returncode in (0, 3, 5), result.stderr[-400:]


def test_the_server_starts_and_answers_on_a_damaged_snapshot(small_library, offline_encoder):
    path, _ = small_library
    damage_snapshot(path, "truncated")
    with LiveServer(create_app(path, offline_encoder, ServerSettings())) as server:
        answer = server.client().get("/api/search", params={"q": "a cat", "all": "true"})
        assert answer.status_code == 200 and len(answer.json()["results"]) == 4


def test_scout_index_repairs_a_damaged_snapshot(small_library):
    path, root = small_library
    damage_snapshot(path, "truncated")
    write_images(root, 1, start=50, size=(160, 120))
    run = scout("index", root, "--library", path, env={"SCOUT_OCR": "off"})
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-400:]
    assert len(search_json(path, "a cat", "--all")) == 5


def test_scout_search_counts_the_assets_the_library_holds_not_the_snapshot(shrunk_copy):
    result = scout("search", "a cat", "--folder", "/nowhere", "--library", shrunk_copy)
    assert result.returncode == 0 and "No results in 10 assets" in result.stderr, result.stderr


# -- the calibration and training sample ---------------------------------------------------------------

def test_the_calibration_sample_spreads_over_the_whole_library(tmp_path):
    library = Library.create_or_open(tmp_path / "lib")
    rows = np.zeros((8000, 8), dtype=np.float32)
    rows[:4096, 0] = 1.0  # the older shoots
    rows[4096:, 1] = 1.0  # the newer ones
    commit_vectors(library, rows)
    sample = library.catalog.sample_vectors(4096)
    assert len(sample) == 4096
    assert sample[:, 1].sum() >= 0.4 * len(sample), "the newer half of the library is missing from the sample"


def test_the_calibration_sample_survives_huge_id_gaps_and_a_single_asset(tmp_path):
    """Held up: ids that start high after mass deletions, and a library of one asset."""
    library = Library.create_or_open(tmp_path / "lib")
    rows = np.eye(8, dtype=np.float32)[np.arange(6000) % 8]
    commit_vectors(library, rows)
    library.catalog.forget([f"/lib/{i}.jpg" for i in range(5900)])  # ids 5901..6000 remain
    sample = library.catalog.sample_vectors(4096)
    assert sample.shape == (100, 8)
    library.catalog.forget([f"/lib/{i}.jpg" for i in range(5900, 5999)])
    assert library.catalog.sample_vectors(4096).shape == (1, 8)
    library.catalog.forget(["/lib/5999.jpg"])
    assert len(library.catalog.sample_vectors(4096)) == 0


# -- GET /api/duplicates: paging, hostile parameters, the cache across the server's own index job ------

@pytest.fixture
def duplicate_library(tmp_path, offline_encoder):
    root = tmp_path / "photos"
    first, second, _ = write_images(root, 3, size=(160, 120))
    (root / "copies").mkdir()
    shutil.copy2(first, root / "copies" / "first.png")
    library, _ = index_folder(tmp_path / "lib", [root], offline_encoder)
    library.close()
    return tmp_path / "lib", root, second


def index_job(client, root) -> None:
    """An index run through the server's own job API, waited for."""
    job = client.post("/api/index-jobs", json={"paths": [str(root)]})
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 120
    while (state := client.get(f"/api/index-jobs/{job.json()['id']}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state["status"] == "completed", state


def test_duplicates_pages_refuse_hostile_parameters_and_follow_the_servers_own_index_job(duplicate_library,
                                                                                        offline_encoder):
    path, root, second = duplicate_library
    settings = ServerSettings(token="t", require_token_for_reads=True)
    with LiveServer(create_app(path, offline_encoder, settings)) as server:
        anonymous = server.client()
        assert anonymous.get("/api/duplicates").status_code == 401
        assert anonymous.get("/api/duplicates", headers={"Authorization": "Bearer nope"}).status_code == 403
        client = server.client(headers={"Authorization": "Bearer t"})
        body = client.get("/api/duplicates", params={"exact": "true"}).json()
        assert (body["total"], body["files"], body["has_more"], len(body["clusters"])) == (1, 1, False, 1)

        for bad in ("offset=-1", "offset=1.5", "offset=1e3", "offset=10000001", "offset=" + "9" * 40,
                    "limit=0", "limit=-5", "limit=501", "limit=", "offset=%00", "limit=0x10"):
            answer = client.get(f"/api/duplicates?exact=true&{bad}")
            assert answer.status_code == 422 and "error" in answer.json(), (bad, answer.text)
        far = client.get("/api/duplicates", params={"exact": "true", "offset": 10_000_000, "limit": 500}).json()
        assert far["clusters"] == [] and far["total"] == 1 and not far["has_more"]
        repeated = client.get("/api/duplicates?exact=true&limit=1&limit=500&offset=0&offset=0")
        assert repeated.status_code == 200 and repeated.json()["total"] == 1

        # The report is cached until the catalog changes: a change made by the server's own
        # index job (another connection) must show on the next page read.
        shutil.copy2(second, root / "copies" / "second.png")
        index_job(client, root)
        first_page = client.get("/api/duplicates", params={"exact": "true", "limit": 1}).json()
        second_page = client.get("/api/duplicates", params={"exact": "true", "limit": 1, "offset": 1}).json()
        assert first_page["total"] == second_page["total"] == 2 and first_page["has_more"] and not second_page["has_more"]
        members = [m["path"] for page in (first_page, second_page) for c in page["clusters"] for m in c["members"]]
        assert sorted(members) == sorted(str(p) for p in (root / "img-0000.png", root / "copies" / "first.png",
                                                          root / "img-0001.png", root / "copies" / "second.png"))


def test_mapped_search_over_an_exact_snapshot_folds_in_later_writes(small_library):
    """Held up: `scout search` maps only IVF lists; a flat snapshot is read and patched, so assets
    written after it are found and removed ones are gone."""
    path, root = small_library
    library = Library.open(path)
    newer = _tight_clusters(np.random.default_rng(5), 3)
    commit_vectors(library, newer, folder=lambda i: str(root / "later"))
    newest = library.catalog.asset_by_path(f"{root}/later/2.jpg").id
    library.catalog.forget([str(root / "img-0000.png")])
    library.close()
    assert not vectors.is_approximate(vectors.load_index(vectors.newest_index_file(path / "vectors")[0]))
    hits = search_json(path, "--like", newest, "--limit", 10)
    ids = [h["id"] for h in hits]
    assert ids[0] == newest and len(ids) == len(set(ids)) == 6
    assert str(root / "img-0000.png") not in {h["path"] for h in hits}


def test_paging_duplicates_across_an_index_run_never_repeats_a_group(duplicate_library, offline_encoder):
    path, root, second = duplicate_library
    shutil.copy2(second, root / "copies" / "second.png")
    with LiveServer(create_app(path, offline_encoder, ServerSettings(token="t"))) as server:
        client = server.client(headers={"Authorization": "Bearer t"})
        index_job(client, root)

        def groups(page: dict) -> list[tuple[str, ...]]:
            return [tuple(sorted(m["path"] for m in c["members"])) for c in page["clusters"]]

        first = client.get("/api/duplicates", params={"exact": "true", "limit": 1}).json()
        assert first["total"] == 2 and first["has_more"]
        shutil.copy2(second, root / "copies" / "second-again.png")  # its group grows and moves ahead
        index_job(client, root)
        same_report = {"version": first["version"]}  # how a page names its report
        following = client.get("/api/duplicates", params={"exact": "true", "limit": 1, "offset": 1, **same_report})
        assert following.status_code == 200, following.text
        following = following.json()
        shown = groups(first) + groups(following)
        assert len({frozenset(p for p in g if "second-again" not in p) for g in shown}) == 2, shown


def test_scout_search_during_an_interrupted_reindex_to_another_width(small_library, tiny_clip_dir):
    path, _ = small_library
    library = Library.open(path)
    assert vectors.load_index(vectors.newest_index_file(path / "vectors")[0]).d == DIM
    # What reembed() commits before its first batch is killed: vectors cleared, the new model
    # recorded, then new 32-d vectors (ready-made here instead of embedded).
    library.catalog.clear_vectors()
    library.catalog.set_meta(model=f"open_clip:local-dir:{tiny_clip_dir}", dim="32")
    commit_vectors(library, np.eye(32, dtype=np.float32)[:3], folder=lambda i: "/shoots/re")
    library.close()
    result = scout("search", "a cat", "--all", "--json", "--library", path)
    assert "Traceback" not in result.stderr, result.stderr[-300:]
    assert result.returncode != 1, result.stderr[-300:]  # 1 is an unhandled exception; a clear refusal is 2-8
    if result.returncode == 0:
        assert {h["folder"] for h in json.loads(result.stdout)} == {"/shoots/re"}


def test_a_duplicates_version_from_before_a_server_restart_is_not_taken_for_another_report(duplicate_library,
                                                                                          offline_encoder):
    path, root, second = duplicate_library
    shutil.copy2(second, root / "copies" / "second.png")
    index_folder(path, [root], offline_encoder)[0].close()
    page = {"exact": "true", "limit": 1}
    with LiveServer(create_app(path, offline_encoder, ServerSettings())) as server:
        first = server.client().get("/api/duplicates", params=page).json()
    assert first["total"] == 2
    shutil.copy2(second, root / "copies" / "second-again.png")  # its group grows and moves ahead
    index_folder(path, [root], offline_encoder)[0].close()
    with LiveServer(create_app(path, offline_encoder, ServerSettings())) as server:
        client = server.client()
        assert client.get("/api/duplicates", params=page).status_code == 200  # another tab, after the restart
        following = client.get("/api/duplicates", params={**page, "offset": 1, "version": first["version"]})
    if following.status_code == 409:
        return  # refused as stale: the page starts over
    shown = [frozenset(m["path"] for m in c["members"] if "second-again" not in m["path"])
             for answer in (first, following.json()) for c in answer["clusters"]]
    assert len(set(shown)) == 2, shown
