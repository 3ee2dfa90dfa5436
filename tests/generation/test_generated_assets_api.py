"""Generated images as a user of the HTTP API and the CLI sees them: marked, filterable, with
provenance, served like any other asset."""

from __future__ import annotations

import json

from tests.api.test_cli import scout


def search(client, **params) -> list[dict]:
    response = client.get("/api/search", params={"all": "true", "limit": 50, **params})
    assert response.status_code == 200, response.text
    return [hit["asset"] for hit in response.json()["results"]]


def test_search_marks_and_filters_generated_images(mixed_server, mixed_library):
    _, generated_id = mixed_library
    with mixed_server.client() as client:
        everything = search(client, like=generated_id)
        assert len(everything) == 5
        assert [a["generated"] for a in everything if a["id"] == generated_id] == [True]
        assert sum(a["generated"] for a in everything) == 1

        assert [a["id"] for a in search(client, like=generated_id, source="generated")] == [generated_id]
        photos = search(client, like=generated_id, source="library")
        assert len(photos) == 4 and not any(a["generated"] for a in photos)

        refused = client.get("/api/search", params={"q": "boats", "source": "../../etc"})
        assert refused.status_code in (400, 422) and "source" in refused.text


def test_asset_detail_carries_provenance_and_the_file_is_served(mixed_server, mixed_library):
    _, generated_id = mixed_library
    with mixed_server.client() as client:
        detail = client.get(f"/api/assets/{generated_id}").json()
        assert detail["generated"] is True
        made = detail["provenance"]
        assert (made["prompt"], made["negative_prompt"], made["seed"], made["brief_id"]) == (
            "harbour at dusk, fishing boats", "people", 42, "porto")

        photo = next(a for a in search(client, like=generated_id, source="library"))
        assert client.get(f"/api/assets/{photo['id']}").json()["provenance"] is None

        original = client.get(f"/api/assets/{generated_id}/original")
        assert original.status_code == 200 and original.content.startswith(b"\x89PNG")
        assert client.get(f"/api/assets/{generated_id}/thumbnail").status_code == 200


def test_cli_json_says_generated_and_source_filters(mixed_library):
    library, generated_id = mixed_library
    run = scout("search", "--library", library, "--like", generated_id, "--all", "--json",
                "--source", "generated", check=0)
    hits = json.loads(run.stdout)
    assert [(h["id"], h["generated"]) for h in hits] == [(generated_id, True)]
