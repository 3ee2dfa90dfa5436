"""The REST API over a real uvicorn server and a real library of the sample photos."""

from __future__ import annotations

import concurrent.futures
import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.api.conftest import serve
from tests.conftest import SAMPLE_PHOTOS, index_folder, write_images


def names(body) -> list[str]:
    return [Path(r["asset"]["path"]).name for r in body["results"]]


def test_text_search_finds_the_cat_first(live):
    body = live.client().get("/api/search", params={"q": "a cat"}).json()
    assert names(body)[0] == "tabby-cat-chelsea.png"
    first = body["results"][0]
    assert first["relevance"] >= body["cutoff"] and -1 <= first["score"] <= 1
    assert first["asset"]["thumbnail_url"] == f"/api/assets/{first['asset']['id']}/thumbnail"
    assert body["library_size"] == 18


def test_pagination_has_no_overlap(live):
    client = live.client()
    pages = [client.get("/api/search", params={"q": "a photo", "all": True, "limit": 7, "offset": o}).json()
             for o in (0, 7, 14)]
    ids = [r["asset"]["id"] for p in pages for r in p["results"]]
    assert len(ids) == 18 == len(set(ids))
    assert [p["has_more"] for p in pages] == [True, True, False]


def test_filters(live):
    client = live.client()
    body = client.get("/api/search", params={"q": "a photo", "all": True, "orientation": "portrait", "limit": 50}).json()
    assert body["results"] and all(r["asset"]["orientation"] == "portrait" for r in body["results"])
    body = client.get("/api/search", params={"q": "a photo", "all": True, "format": "jpeg", "limit": 50}).json()
    assert len(body["results"]) == 6 and {r["asset"]["format"] for r in body["results"]} == {"JPEG"}
    body = client.get("/api/search", params={"q": "a photo", "all": True, "min_width": 1000, "limit": 50}).json()
    assert all(r["asset"]["width"] >= 1000 for r in body["results"]) and body["results"]


def test_negative_and_combined_queries(live):
    client = live.client()
    plain = names(client.get("/api/search", params={"q": "a cup of coffee", "all": True}).json())
    pushed = names(client.get("/api/search", params={"q": "a cup of coffee", "minus": "espresso", "all": True}).json())
    assert plain[0] == "cup-of-coffee-on-saucer.png" and pushed.index("cup-of-coffee-on-saucer.png") > 3


def test_upload_search_and_reusable_examples(live):
    client = live.client()
    cat = (SAMPLE_PHOTOS / "tabby-cat-chelsea.png").read_bytes()
    body = client.post("/api/search/image", files={"file": ("cat.png", cat, "image/png")}).json()
    assert names(body)[0] == "tabby-cat-chelsea.png"
    example = client.post("/api/examples", files={"file": ("cat.png", cat)}).json()["example_id"]
    both = client.get("/api/search", params={"example": example, "q": "a rocket launch", "limit": 2, "all": True}).json()
    assert set(names(both)) == {"tabby-cat-chelsea.png", "spacex-rocket-launch.jpg"}
    gone = client.get("/api/search", params={"example": "ex-unknown"})
    assert gone.status_code == 400 and "Upload the image again" in gone.json()["hint"]


def test_upload_errors(photo_library, offline_encoder):
    library, _ = photo_library
    with serve(library, offline_encoder, max_upload_bytes=300_000) as server:
        client = server.client()
        big = (SAMPLE_PHOTOS / "astronaut-eileen-collins-portrait.png").read_bytes()  # 790 KB
        response = client.post("/api/search/image", files={"file": ("a.png", big)})
        assert response.status_code == 413 and "larger than" in response.json()["error"]
        huge = b"\0" * (8 * 1024 * 1024)  # refused from Content-Length, never spooled
        response = client.post("/api/examples", files={"file": ("huge.png", huge)})
        assert response.status_code == 413
        response = client.post("/api/search/image", files={"file": ("x.png", b"hello, not pixels")})
        assert response.status_code == 415 and "Not an image" in response.json()["error"]
        from tests.indexer.test_decode import _png_header_claiming

        bomb = _png_header_claiming(30_000, 30_000)  # 900 MP in a few bytes
        response = client.post("/api/search/image", files={"file": ("bomb.png", bomb)})
        assert response.status_code == 413 and "megapixels" in response.json()["error"]
        assert client.post("/api/search/image").status_code == 422


def test_similar_and_detail(live):
    client = live.client()
    cat = client.get("/api/search", params={"q": "a cat"}).json()["results"][0]["asset"]
    similar = client.get(f"/api/assets/{cat['id']}/similar", params={"limit": 3}).json()
    assert similar["results"][0]["asset"]["id"] == cat["id"]
    detail = client.get(f"/api/assets/{cat['id']}").json()
    assert detail["path"] == cat["path"] and len(detail["content_hash"]) == 32
    missing = client.get("/api/assets/999999")
    assert missing.status_code == 404 and "999999" in missing.json()["error"]


def test_thumbnail_is_small_webp_and_original_is_the_file(live):
    client = live.client()
    hit = client.get("/api/search", params={"q": "galaxies", "all": True}).json()["results"][0]["asset"]
    thumb = client.get(hit["thumbnail_url"])
    assert thumb.headers["content-type"] == "image/webp"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
    original = client.get(hit["original_url"])
    assert original.content == Path(hit["path"]).read_bytes()
    download = client.get(hit["original_url"], params={"download": True})
    assert "attachment" in download.headers["content-disposition"]


@pytest.mark.parametrize("path", [
    "/api/assets/../../etc/passwd/original",
    "/api/assets/..%2F..%2Fetc%2Fpasswd/original",
    "/api/assets/%2Fetc%2Fpasswd/thumbnail",
    "/../../../../etc/passwd",
    "/..%2F..%2F..%2Fetc%2Fpasswd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/api/assets/1%2F..%2F..%2Fetc%2Fpasswd/original",
])
def test_traversal_attempts_never_read_outside(live, path):
    response = live.client().get(path)
    assert response.status_code in (404, 422)
    assert b"root:" not in response.content


def test_one_rule_for_links_out_of_the_roots(tmp_path, offline_encoder):
    """A link leading outside the library's folders is not indexed (reported instead); a file
    swapped for such a link after indexing is refused for original, preview and thumbnail alike."""
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((SAMPLE_PHOTOS / "pink-flower-closeup.jpg").read_bytes())
    os.symlink(outside, root / "link.jpg")
    (root / "flower.jpg").write_bytes((SAMPLE_PHOTOS / "pink-flower-closeup.jpg").read_bytes())
    library, result = index_folder(tmp_path / "lib", [root], offline_encoder)
    failures = {Path(f.path).name: f for f in library.catalog.failures()}
    assert failures["link.jpg"].reason == "outside_roots" and "scout index" in failures["link.jpg"].hint
    assert result.stats.embedded == 1
    library.close()
    (root / "flower.jpg").unlink()
    os.symlink(outside, root / "flower.jpg")  # swapped after indexing
    with serve(tmp_path / "lib", offline_encoder) as server:
        client = server.client()
        asset_id = client.get("/api/search", params={"q": "flower", "all": True}).json()["results"][0]["asset"]["id"]
        for suffix in ("original", "preview", "thumbnail"):
            response = client.get(f"/api/assets/{asset_id}/{suffix}")
            assert response.status_code == 403 and "outside" in response.json()["error"], suffix


@pytest.mark.parametrize("params", [{"limit": 5000}, {"limit": 0}, {"offset": -1}, {"offset": 10**9},
                                    {"orientation": "diagonal"}, {"min_width": -5}])
def test_absurd_parameters_are_rejected(live, params):
    response = live.client().get("/api/search", params={"q": "x", **params})
    assert response.status_code == 422 and response.json()["error"].startswith("Invalid request")


def test_empty_query_is_a_400(live):
    response = live.client().get("/api/search")
    assert response.status_code == 400 and "Nothing to search for" in response.json()["error"]


def test_openapi_docs(live):
    client = live.client()
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/search", "/api/search/image", "/api/assets/{asset_id}/similar", "/api/index-jobs"):
        assert path in paths


def test_tokens_guard_writes_and_optionally_reads(photo_library, offline_encoder):
    library, _ = photo_library
    with serve(library, offline_encoder, token="s3cret") as server:
        client = server.client()
        assert client.post("/api/index-jobs", json={"paths": []}).status_code == 401
        assert client.post("/api/index-jobs", json={}, headers={"X-Scout-Token": "nope"}).status_code == 403
        assert client.get("/api/search", params={"q": "cat"}).status_code == 200  # reads stay open
    with serve(library, offline_encoder, token="s3cret", require_token_for_reads=True) as server:
        client = server.client()
        assert client.get("/api/search", params={"q": "cat"}).status_code == 401
        ok = client.get("/api/search", params={"q": "cat"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        asset_id = ok.json()["results"][0]["asset"]["id"]
        assert client.get(f"/api/assets/{asset_id}/thumbnail").status_code == 401
        assert client.get(f"/api/assets/{asset_id}/thumbnail", params={"token": "s3cret"}).status_code == 200


def test_searches_keep_answering_while_an_index_job_commits(tmp_path, offline_encoder):
    root = tmp_path / "assets"
    write_images(root, 4, size=(160, 120))
    index_folder(tmp_path / "lib", [root], offline_encoder)[0].close()
    write_images(root / "new", 60, start=100, size=(320, 240))
    with serve(tmp_path / "lib", offline_encoder, token="t") as server:
        client = server.client(headers={"X-Scout-Token": "t"})
        job = client.post("/api/index-jobs", json={"paths": [str(root)]})
        assert job.status_code == 202
        job_id = job.json()["id"]
        second = client.post("/api/index-jobs", json={})
        assert second.status_code == 409 and "already running" in second.json()["error"]
        rounds, statuses = [], []

        def one_search(_):
            with server.client() as c:
                r = c.get("/api/search", params={"q": "a photo", "all": True, "limit": 100})
                return r.status_code, r.json().get("library_size")

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            deadline = time.monotonic() + 180
            while True:
                answers = list(pool.map(one_search, range(4)))
                statuses += [code for code, _ in answers]
                rounds.append([size for _, size in answers])
                state = client.get(f"/api/index-jobs/{job_id}").json()
                if state["status"] not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline
        assert state["status"] == "completed" and state["embedded"] == 60
        assert set(statuses) == {200}
        # Each round starts after the previous one finished, so none may see fewer assets than
        # any search before it saw: the library only ever grows during the run.
        for before, after in zip(rounds, rounds[1:]):
            assert min(after) >= max(before)
        final = client.get("/api/search", params={"q": "a photo", "all": True, "limit": 100}).json()
        assert final["library_size"] == 64 and len(final["results"]) == 64


def test_preview_renders_formats_browsers_cannot_show(tmp_path, offline_encoder):
    root = tmp_path / "tiffs"
    root.mkdir()
    Image.open(SAMPLE_PHOTOS / "pink-flower-closeup.jpg").resize((2400, 1600)).save(root / "flower.tif")
    index_folder(tmp_path / "lib", [root], offline_encoder)[0].close()
    with serve(tmp_path / "lib", offline_encoder) as server:
        client = server.client()
        asset = client.get("/api/search", params={"q": "flower", "all": True}).json()["results"][0]["asset"]
        assert asset["format"] == "TIFF"
        preview = client.get(f"/api/assets/{asset['id']}/preview")
        assert preview.headers["content-type"] == "image/webp"
        assert Image.open(io.BytesIO(preview.content)).size == (1600, 1067)
