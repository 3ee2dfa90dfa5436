"""Brief jobs over HTTP on a real uvicorn server: submit, poll, read manifests, ids only."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.api.conftest import serve

PALACE = {"id": "beijing", "subject": "the Summer Palace in Beijing", "must_show": ["a palace"], "candidates": 1}
TRAM = {"id": "lisbon", "subject": "a yellow tram in Lisbon at sunset", "must_avoid": ["cars"], "candidates": 2}


@pytest.fixture(scope="module")
def server(sample_library, offline_encoder, tmp_path_factory):
    library, _ = sample_library
    copy = tmp_path_factory.mktemp("briefs-http") / "lib"
    shutil.copytree(library.path, copy)
    with serve(copy, offline_encoder, token="t") as live:
        yield live


def wait_for(client, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while True:
        state = client.get(f"/api/brief-jobs/{job_id}").json()
        if state["status"] not in ("queued", "running"):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.1)


def test_a_batch_runs_in_the_background_and_its_results_are_read_by_id(server):
    client = server.client(headers={"Authorization": "Bearer t"})
    response = client.post("/api/brief-jobs", json={"briefs": [PALACE, TRAM, {"id": "typo", "subject": "x",
                                                                                 "selling_point": ["y"]}]})
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["total"] == 2
    assert started["invalid"] == [{"brief": "brief 3 (id typo)", "field": "selling_point",
                                   "message": started["invalid"][0]["message"]}]
    state = wait_for(client, started["id"])
    assert state["status"] == "completed" and state["done"] == 2, state
    assert state["summary"]["counts"]["reused"] == 1 and state["summary"]["counts"]["needs_generation"] == 1

    palace = client.get(f"/api/brief-jobs/{started['id']}/briefs/beijing").json()
    best = palace["candidates"][0]
    assert palace["outcome"] == "reused" and best["best"] and best["selected"]
    assert best["original"].endswith("chinese-temple-summer-palace.jpg")
    assert palace["copy"]["status"] == "written" and len(palace["copy"]["variants"]) == 3  # the package, too
    assert palace["copy"]["writer"] == "template"
    thumbnail = client.get(f"/api/assets/{best['asset_id']}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    tram = client.get(f"/api/brief-jobs/{started['id']}/briefs/lisbon").json()
    assert tram["outcome"] == "needs_generation"
    assert tram["decision"]["prompt"].startswith("Advertising photograph of a yellow tram")

    listed = client.get("/api/brief-jobs").json()
    assert started["id"] in [job["id"] for job in listed]


def test_ids_only_never_paths(server):
    client = server.client(headers={"Authorization": "Bearer t"})
    for path in ("/api/brief-jobs/..%2F..%2Fetc", "/api/brief-jobs/0123456789ab",
                 "/api/brief-jobs/0123456789ab/briefs/..%2Fsummary.json", "/api/brief-jobs/0123456789ab/briefs/x"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "error" in response.json()


def test_bad_submissions_are_clear_errors(server):
    client = server.client(headers={"Authorization": "Bearer t"})
    none_valid = client.post("/api/brief-jobs", json={"briefs": [{"id": "a"}]})
    assert none_valid.status_code == 400 and "subject" in none_valid.json()["error"]
    assert client.post("/api/brief-jobs", json={"briefs": []}).status_code == 400
    assert client.post("/api/brief-jobs", json={"briefs": [PALACE], "aligner": "../../x"}).status_code == 422
    assert server.client().post("/api/brief-jobs", json={"briefs": [PALACE]}).status_code == 401
