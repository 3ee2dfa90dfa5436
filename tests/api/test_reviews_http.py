"""The review panel and report over HTTP on a real uvicorn server: blind queue, rating, files by
id only, manual uploads with limits, tokens for writes, the report JSON and its SVG plot."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from indexer.library import Library
from indexer.reviews import ReviewDesk, ReviewDraft
from tests.api.conftest import serve
from tests.conftest import SAMPLE_PHOTOS, index_folder, write_images

PHOTO = SAMPLE_PHOTOS / "chinese-temple-summer-palace.jpg"
RENDER = SAMPLE_PHOTOS / "spacex-rocket-launch.jpg"


def png(size, colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def panel_library(tmp_path, offline_encoder):
    """A small real library whose panel holds two AI variants and one manual piece (two destinations)."""
    write_images(tmp_path / "photos", 2)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], offline_encoder)
    desk = ReviewDesk(library)
    drafts = [ReviewDraft(key=f"k{i}", destination=f"d{i % 2}", arm=arm, headline=f"Headline {i}", body="Body",
                          cta="Book", provenance={"arm": arm, "copy": {"writer": "template"}}, machine_seconds=30,
                          image=PHOTO, renders={"640x427": RENDER})
              for i, arm in enumerate(["ai_reused", "ai_generated"])]
    desk.add(drafts)
    desk.add_manual("d0", [("ad.png", png((300, 250)))], "Manual headline", hours=2)
    library.close()
    return tmp_path / "lib"


def test_blind_queue_rating_reveals_the_arm_and_files_are_served_by_id(panel_library, offline_encoder):
    with serve(panel_library, offline_encoder) as server, server.client() as http:
        queue = http.get("/api/reviews/queue", params={"reviewer": "ana"}).json()
        assert (queue["rated"], queue["total"], len(queue["items"])) == (0, 3, 3)
        assert all(i["arm"] is None and i["provenance"] is None and not i["revealed"] for i in queue["items"])
        assert "manual" not in str(queue) and "ai_" not in str(queue)
        for item in queue["items"]:
            for url in [item["image_url"]] + [r["url"] for r in item["renders"]]:
                response = http.get(url)
                assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
                assert Image.open(io.BytesIO(response.content)).size[0] > 0

        first = queue["items"][0]
        rated = http.post(f"/api/reviews/items/{first['id']}/rating",
                          json={"reviewer": "ana", "rating": 4, "approved": True, "comment": "strong", "seconds": 9})
        assert rated.status_code == 200 and rated.json()["revealed"]
        assert rated.json()["arm"] in ("ai_reused", "ai_generated", "manual")
        assert rated.json()["rating"]["comment"] == "strong"
        again = http.post(f"/api/reviews/items/{first['id']}/rating",
                          json={"reviewer": "ana", "rating": 2, "approved": False})
        assert again.json()["rating"]["rating"] == 2 and not again.json()["rating"]["approved"]
        assert [i["id"] for i in http.get("/api/reviews/queue?reviewer=ana").json()["items"]] == \
            [i["id"] for i in queue["items"][1:]]
        assert http.get(f"/api/reviews/items/{first['id']}", params={"reviewer": "ben"}).json()["arm"] is None
        assert http.get(f"/api/reviews/items/{first['id']}", params={"reviewer": "ana"}).json()["revealed"]

        # Refusals: clear JSON errors, nothing stored.
        for body, status in [({"reviewer": "ana", "rating": 6, "approved": True}, 422),
                             ({"reviewer": "", "rating": 3, "approved": True}, 422),
                             ({"rating": 3, "approved": True}, 422)]:
            response = http.post(f"/api/reviews/items/{first['id']}/rating", json=body)
            assert response.status_code == status and response.json()["error"]
        missing = http.post("/api/reviews/items/999/rating", json={"reviewer": "ana", "rating": 3, "approved": True})
        assert missing.status_code == 404 and "999" in missing.json()["error"]
        assert http.get("/api/reviews/queue").status_code == 422  # a reviewer name is needed
        for url in [f"/api/reviews/items/{first['id']}/renders/1080x1080", "/api/reviews/items/999/image",
                    f"/api/reviews/items/{first['id']}/renders/..%2F..%2Fcatalog.db",
                    f"/api/reviews/items/{first['id']}/renders/640x427.jpg", "/api/reviews/items/0/image"]:
            response = http.get(url)
            assert response.status_code in (404, 422) and response.headers["content-type"] == "application/json"


def test_manual_work_upload_with_limits(panel_library, offline_encoder):
    with serve(panel_library, offline_encoder, max_upload_bytes=200_000) as server, server.client() as http:
        files = [("files", ("feed.png", png((1080, 1080), (10, 10, 80)), "image/png")),
                 ("files", ("story.png", png((1080, 1920), (10, 80, 10)), "image/png"))]
        made = http.post("/api/reviews/manual", files=files,
                         data={"destination": "d1", "headline": "Hand made", "cta": "Go", "hours": "3.5"})
        assert made.status_code == 201 and made.json()["added"]
        item = http.get(f"/api/reviews/items/{made.json()['item_id']}").json()
        assert [r["format"] for r in item["renders"]] == ["1080x1080", "1080x1920"] and item["arm"] is None
        assert http.post("/api/reviews/manual", files=files, data={"destination": "d1", "headline": "Hand made",
                                                                    "cta": "Go"}).json()["added"] is False

        refused = [
            ({"destination": "d1", "headline": "x"}, [("files", ("a.png", b"plain text, not pixels", "image/png"))], 415),
            ({"destination": "../x", "headline": "x"}, files[:1], 400),
            ({"destination": "d1", "headline": "x", "hours": "0"}, files[:1], 422),
            ({"destination": "d1", "headline": "x"}, [("files", ("big.bmp", b"BM" + b"\0" * 300_000, "image/bmp"))], 413),
        ]
        for data, upload, status in refused:
            response = http.post("/api/reviews/manual", files=upload, data=data)
            assert response.status_code == status, (data, response.text)
            assert response.json()["error"]
        assert http.get("/api/reviews/queue?reviewer=zoe").json()["total"] == 4


def test_rating_and_manual_entry_need_the_token_when_the_server_has_one(panel_library, offline_encoder):
    with serve(panel_library, offline_encoder, token="s3cret") as server, server.client() as http:
        # Queue and items reveal ratings and arms: a name is not a login, so they need the token too.
        assert http.get("/api/reviews/queue?reviewer=ana").status_code == 401
        http.headers["X-Scout-Token"] = "s3cret"
        item = http.get("/api/reviews/queue?reviewer=ana").json()["items"][0]
        del http.headers["X-Scout-Token"]
        body = {"reviewer": "ana", "rating": 5, "approved": True}
        assert http.post(f"/api/reviews/items/{item['id']}/rating", json=body).status_code == 401
        assert http.post(f"/api/reviews/items/{item['id']}/rating", json=body,
                         headers={"X-Scout-Token": "wrong"}).status_code == 403
        manual = http.post("/api/reviews/manual", files=[("files", ("a.png", png((300, 250)), "image/png"))],
                           data={"destination": "d1", "headline": "x"})
        assert manual.status_code == 401
        assert http.get("/api/reviews/queue?reviewer=ana", headers={"X-Scout-Token": "s3cret"}).json()["rated"] == 0
        ok = http.post(f"/api/reviews/items/{item['id']}/rating", json=body, headers={"X-Scout-Token": "s3cret"})
        assert ok.status_code == 200 and ok.json()["revealed"]


def test_report_json_and_svg_plot(panel_library, offline_encoder):
    library = Library.open(panel_library)
    desk = ReviewDesk(library)
    for item in library.catalog.review_items():
        for reviewer, rating in (("ana", 4), ("ben", 5)):
            desk.rate(item["id"], reviewer, rating if item["arm"] != "manual" else 3, True, seconds=60)
    library.close()
    with serve(panel_library, offline_encoder) as server, server.client() as http:
        report = http.get("/api/report").json()
        assert set(report["arms"]) == {"ai_assisted", "ai_reused", "ai_generated", "manual"}
        assert report["arms"]["manual"]["mean_rating"] == 3.0 and report["arms"]["ai_assisted"]["mean_rating"] == 4.5
        assert report["share"]["ai_reused"] == 0.5 and report["time"]["manual_minutes_per_destination"] == 120
        svg = http.get("/api/report/plot.svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in svg.content[:400]


def test_an_empty_panel_reports_a_clear_error(tmp_path, offline_encoder):
    write_images(tmp_path / "photos", 1)
    index_folder(tmp_path / "lib", [tmp_path / "photos"], offline_encoder)[0].close()
    with serve(tmp_path / "lib", offline_encoder) as server, server.client() as http:
        response = http.get("/api/report")
        assert response.status_code == 400 and "no ratings" in response.json()["error"].lower()
        assert http.get("/api/reviews/queue?reviewer=ana").json() == {"reviewer": "ana", "rated": 0, "total": 0,
                                                                      "items": []}
