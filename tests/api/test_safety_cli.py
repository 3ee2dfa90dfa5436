"""``scout safety`` and the asset's safety over HTTP, as a user meets them."""

from __future__ import annotations

import json
import shutil

import pytest

from indexer.safety.policy import default_policy_text, parse_policy
from tests.api.conftest import serve
from tests.api.test_cli import scout
from tests.conftest import SAMPLE_PHOTOS, index_folder
from tests.indexer.test_ocr import render_text_photo


@pytest.fixture(scope="module")
def library(tmp_path_factory, offline_encoder):
    base = tmp_path_factory.mktemp("safety-cli")
    root = base / "assets"
    render_text_photo(root / "ad.jpg", "Free porn, click now", photo="pink-flower-closeup.jpg", width=1200)
    shutil.copy(SAMPLE_PHOTOS / "tabby-cat-chelsea.png", root / "cat.png")
    lib, _ = index_folder(base / "lib", [root], offline_encoder)
    ids = {name: lib.catalog.asset_by_path(str(root / name)).id for name in ("ad.jpg", "cat.png")}
    lib.close()
    return base / "lib", ids


def test_the_default_policy_is_printed_to_start_a_clients_own():
    result = scout("safety", "--show-policy", check=0)
    assert parse_policy(result.stdout).version == "garm-floor-1" and result.stdout == default_policy_text()


def test_a_broken_policy_file_is_refused_with_the_field_and_nothing_is_judged(library, tmp_path):
    path = tmp_path / "client.yaml"
    path.write_text(default_policy_text().replace("risk: floor", "risk: severe", 1))
    result = scout("safety", "--policy", path, "--library", library[0], check=2)
    assert "categories.adult.risk" in result.stderr and "hint:" in result.stderr
    unknown = scout("safety", "--checks", "words,telepathy", "--library", library[0], check=5)
    assert "telepathy" in unknown.stderr and "nudity" in unknown.stderr  # the known checks are listed


def test_the_library_is_judged_once_listed_and_served_with_evidence(library, offline_encoder):
    folder, ids = library
    with serve(folder, offline_encoder) as server, server.client() as client:  # before: nothing judged
        assert client.get(f"/api/assets/{ids['cat.png']}/safety").json()["verdict"] is None
    first = json.loads(scout("safety", "--ocr", "--library", folder, "--list", "--json", check=0).stdout)
    assert (first["judged"], first["safe"], first["block"]) == (2, 1, 1)
    (flagged,) = first["flagged"]
    assert flagged["id"] == ids["ad.jpg"] and flagged["verdict"] == "block" and "adult" in flagged["categories"]
    again = json.loads(scout("safety", "--library", folder, "--json", check=0).stdout)
    assert again["judged"] == 0 and again["block"] == 1  # incremental
    assert json.loads(scout("status", "--json", "--library", folder, check=0).stdout)["safety"] == {"safe": 1, "block": 1}
    assert "1 safe, 1 block" in scout("status", "--library", folder, check=0).stdout
    with serve(folder, offline_encoder) as server, server.client() as client:
        detail = client.get(f"/api/assets/{ids['ad.jpg']}/safety").json()
        assert detail["verdict"] == "block" and detail["policy"].startswith("garm-floor-1@")
        words = [s for r in detail["reasons"] for s in r["signals"] if s["source"] == "words"]
        assert any("porn" in s["evidence"]["snippet"].lower() for s in words)
        assert client.get(f"/api/assets/{ids['cat.png']}/safety").json()["verdict"] == "safe"
        assert client.get("/api/assets/999999/safety").status_code == 404
        page = client.get("/api/search", params={"q": "a flower", "all": True, "safety": "not-blocked"}).json()
        assert page["results"] and all(hit["asset"]["id"] != ids["ad.jpg"] for hit in page["results"])
        assert client.get("/api/search", params={"q": "a flower", "safety": "unrated"}).status_code == 422
    hits = scout("search", "a flower", "--all", "--json", "--safety", "not-blocked", "--library", folder, check=0)
    assert all(hit["id"] != ids["ad.jpg"] for hit in json.loads(hits.stdout))
