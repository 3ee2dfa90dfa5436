"""The librarian's edges as a user meets them: `scout index` reads metadata and perceptual hashes,
`scout duplicates`, `scout export csv|json|xmp`, `scout search` metadata filters (real
subprocesses), and GET /api/duplicates and the asset detail's metadata (a real uvicorn server)."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from api.app import create_app
from api.deps import ServerSettings
from benchmarks.duplicates import write_variants
from tests.api.conftest import LiveServer
from tests.api.test_cli import scout
from tests.conftest import SAMPLE_PHOTOS
from tests.indexer.test_metadata import PARIS, write_photo


@pytest.fixture(scope="module")
def librarian(tmp_path_factory):
    base = tmp_path_factory.mktemp("librarian")
    root = base / "photos"
    root.mkdir()
    for name in ("spacex-rocket-launch.jpg", "pink-flower-closeup.jpg", "cup-of-coffee-on-saucer.png"):
        shutil.copy2(SAMPLE_PHOTOS / name, root / name)
    write_variants(root / "spacex-rocket-launch.jpg", root / "variants")
    (root / "copies").mkdir()
    shutil.copy2(root / "pink-flower-closeup.jpg", root / "copies" / "flower.jpg")
    write_photo(root / "paris.jpg", 7, **PARIS)
    write_photo(root / "formula.jpg", 8, xmp={"Xmp.dc.title": {'lang="x-default"': "=HYPERLINK(\"http://x\")"},
                                              "Xmp.dc.subject": ["Restricted"]})
    library = base / "lib"
    scout("index", root, "--library", library, "--model", "offline", env={"SCOUT_OCR": "off"}, check=0)
    return library, root


def test_index_reads_metadata_and_duplicates_cluster_copies(librarian):
    library, root = librarian
    found = json.loads(scout("duplicates", "--library", library, "--json", check=0).stdout)
    assert found["unhashed"] == 0
    clusters = {c["kind"]: c for c in found["clusters"]}
    assert set(clusters) == {"exact", "near"}
    exact = clusters["exact"]
    assert sorted(m["path"] for m in exact["members"]) == sorted(
        [str(root / "pink-flower-closeup.jpg"), str(root / "copies" / "flower.jpg")])
    near = clusters["near"]
    keeper = next(m for m in near["members"] if m["relation"] == "keeper")
    assert keeper["path"] == str(root / "spacex-rocket-launch.jpg")  # its q30 and graded copies are as large
    assert near["reason"].startswith("same size; oldest file")
    assert len(near["members"]) == 6
    text = scout("duplicates", "--library", library, check=0)
    assert "Nothing was deleted" in text.stderr and (root / "copies" / "flower.jpg").exists()


def test_search_filters_by_camera_date_gps_and_rights(librarian):
    library, root = librarian

    def names(*flags):
        result = scout("search", "photo", "--library", library, "--all", "--limit", "50", "--json", *flags, check=0)
        return sorted(hit["path"].rsplit("/", 1)[1] for hit in json.loads(result.stdout))

    assert names("--camera", "eos r5") == ["paris.jpg"]
    assert names("--captured-from", "2021-06-05", "--captured-to", "2021-06-05") == ["paris.jpg"]
    assert names("--captured-to", "2021-06-04") == []
    assert names("--gps") == ["paris.jpg"]
    assert "formula.jpg" in names() and "formula.jpg" not in names("--exclude-restricted")
    bad = scout("search", "photo", "--library", library, "--captured-from", "June", check=2)
    assert "not a date" in bad.stderr


def test_export_csv_escapes_formulas_and_json_holds_the_metadata(librarian, tmp_path):
    library, root = librarian
    rows = list(csv.DictReader(io.StringIO(scout("export", "csv", "--library", library, check=0).stdout)))
    by_name = {r["path"].rsplit("/", 1)[1]: r for r in rows}
    assert len(rows) == 11
    assert by_name["formula.jpg"]["title"] == "'=HYPERLINK(\"http://x\")" and by_name["formula.jpg"]["rights"] == "restricted"
    assert by_name["paris.jpg"]["keywords"] == "paris; Eiffel tower; dusk; tower"
    out = tmp_path / "catalog.json"
    scout("export", "json", "--library", library, "--output", out, check=0)
    records = {r["path"].rsplit("/", 1)[1]: r for r in json.loads(out.read_text())}
    assert records["paris.jpg"]["camera"] == "Canon EOS R5" and records["paris.jpg"]["has_gps"] is True
    assert records["paris.jpg"]["captured_at"] == "2021-06-05T12:30:00+00:00"
    assert records["paris.jpg"]["title"] == "Eiffel tower at dusk"  # JSON is not a spreadsheet: no escaping
    refused = scout("export", "csv", "--library", library, "--output", tmp_path, check=2)  # a folder
    assert "Cannot write" in refused.stderr and "Traceback" not in refused.stderr


TAXONOMY = """
name: test
tags:
  - name: scene
  - name: city
    parent: scene
    prompts: ["a photo of a city", "buildings in a town"]
  - name: landmark
    prompts: ["a famous monument"]
"""


def test_export_xmp_writes_confirmed_tags_with_their_hierarchy(librarian, tmp_path):
    import xml.etree.ElementTree as ET

    library, root = librarian
    first = scout("export", "xmp", "--library", library, check=0)
    assert "No asset has confirmed tags yet" in first.stderr and not list(root.rglob("*.xmp"))
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(TAXONOMY)
    scout("tag", "--taxonomy", taxonomy, "--library", library, check=0)
    hits = json.loads(scout("search", "tower", "--library", library, "--all", "--limit", "50", "--json", check=0).stdout)
    paris = next(h["id"] for h in hits if h["path"].endswith("paris.jpg"))
    scout("tag", "accept", "city", str(paris), "--library", library, check=0)
    scout("tag", "accept", "landmark", str(paris), "--library", library, check=0)
    before = (root / "paris.jpg").read_bytes()
    assert "1 created" in scout("export", "xmp", "--library", library, check=0).stderr
    sidecar = root / "paris.jpg.xmp"
    tree = ET.parse(sidecar).getroot()
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"
    subjects = [li.text for node in tree.iter("{http://purl.org/dc/elements/1.1/}subject") for li in node.iter(rdf)]
    paths = [li.text for node in tree.iter("{http://ns.adobe.com/lightroom/1.0/}hierarchicalSubject")
             for li in node.iter(rdf)]
    assert subjects == ["scene", "city", "landmark"] and paths == ["scene|city"]
    assert (root / "paris.jpg").read_bytes() == before
    assert "1 already up to date" in scout("export", "xmp", "--library", library, check=0).stderr
    rows = list(csv.DictReader(io.StringIO(scout("export", "csv", "--library", library, check=0).stdout)))
    assert next(r for r in rows if r["path"].endswith("paris.jpg"))["tags"] == "city; landmark"


def test_http_duplicates_and_asset_metadata(librarian, offline_encoder):
    library, root = librarian
    with LiveServer(create_app(library, offline_encoder, ServerSettings())) as server, server.client() as client:
        answer = client.get("/api/duplicates")
        assert answer.status_code == 200
        body = answer.json()
        assert sorted(c["kind"] for c in body["clusters"]) == ["exact", "near"]
        assert client.get("/api/duplicates", params={"exact": "true"}).json()["clusters"][0]["kind"] == "exact"
        results = client.get("/api/search", params={"q": "tower", "all": "true", "limit": 50}).json()["results"]
        paris = next(h["asset"]["id"] for h in results if h["asset"]["name"] == "paris.jpg")
        detail = client.get(f"/api/assets/{paris}").json()
        assert detail["metadata"]["camera"] == "Canon EOS R5"
        assert detail["metadata"]["keywords"][:2] == ["paris", "Eiffel tower"]
        assert detail["metadata"]["latitude"] == pytest.approx(48.8582, abs=1e-4)
        assert client.get("/api/duplicates", params={"exact": "maybe"}).status_code == 422
        assert body["total"] == 2 and not body["has_more"]
        assert body["files"] == sum(len(c["members"]) - 1 for c in body["clusters"])
        first = client.get("/api/duplicates", params={"limit": 1}).json()
        second = client.get("/api/duplicates", params={"limit": 1, "offset": 1}).json()
        assert first["has_more"] and not second["has_more"] and first["total"] == second["total"] == 2
        assert first["clusters"] + second["clusters"] == body["clusters"]  # the same order, page by page
        assert first["version"] == second["version"] == body["version"]
        same = client.get("/api/duplicates", params={"limit": 1, "offset": 1, "version": first["version"]})
        assert same.json()["clusters"] == second["clusters"]
        stale = client.get("/api/duplicates", params={"limit": 1, "offset": 1, "version": first["version"] ^ 1})
        assert stale.status_code == 409 and "first page" in stale.json()["hint"]
        assert client.get("/api/duplicates", params={"offset": 5}).json()["clusters"] == []
        for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"offset": "x"}):
            assert client.get("/api/duplicates", params=bad).status_code == 422, bad

        def names(**params):
            answer = client.get("/api/search", params={"q": "photo", "all": "true", "limit": 50, **params})
            assert answer.status_code == 200, answer.text
            return sorted(h["asset"]["name"] for h in answer.json()["results"])

        assert names(camera="EOS R5") == ["paris.jpg"] and names(gps="true") == ["paris.jpg"]
        assert names(captured_from="2021-06-05", captured_to="2021-06-05") == ["paris.jpg"]
        assert "formula.jpg" in names() and "formula.jpg" not in names(exclude_restricted="true")
        bad = client.get("/api/search", params={"q": "photo", "captured_from": "June"})
        assert bad.status_code == 400 and "not a date" in bad.json()["error"]
