"""Tagging as a librarian uses it: ``scout tag`` in real subprocesses, the /api/tags routes on a
real uvicorn server, and the Tags page in headless Chromium, keyboard only."""

from __future__ import annotations

import json

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from indexer.library import Library
from search import tags as tag_reads
from tests.api.conftest import serve
from tests.api.test_cli import scout
from tests.browser import ARTIFACTS, wait
from tests.indexer.tagging.conftest import asset_named, tagged_library, tagged_template  # noqa: F401
from tests.indexer.tagging.test_review import busiest_other_tag


def test_tag_review_and_calibrate_from_the_command_line(tagged_library):  # noqa: F811
    lib = ["--library", tagged_library.path]
    other = busiest_other_tag(tagged_library, "cat")
    tagged_library.close()
    rerun = scout("tag", *lib, check=0)
    assert "Nothing to tag" in rerun.stderr
    queue = json.loads(scout("tag", "list", "--tag", "cat", "--json", *lib, check=0).stdout)
    assert queue[0]["name"] == "tabby-cat-chelsea.png" and queue[0]["path"] == ["nature", "cat"]
    cat = str(queue[0]["asset_id"])
    assert "1 accepted" in scout("tag", "accept", "cat", cat, "-r", "ana", *lib, check=0).stderr
    assert "accepted  nature > cat" in scout("tag", "show", cat, *lib, check=0).stdout
    waiting = json.loads(scout("tag", "list", "--tag", other, "--json", *lib, check=0).stdout)
    rejected = scout("tag", "reject", other, "--above", "0", *lib, check=0)
    assert waiting and f"{len(waiting)} rejected" in rejected.stderr
    assert json.loads(scout("tag", "list", "--tag", other, "--json", *lib, check=0).stdout) == []
    typo = scout("tag", "accept", "kat", cat, *lib, check=2)
    assert "'kat' is not a tag" in typo.stderr and "cat" in typo.stderr
    assert "not an asset id" in scout("tag", "accept", "cat", "../etc/passwd", *lib, check=2).stderr
    calibrated = json.loads(scout("tag", "calibrate", "--min-decisions", "1", "--json", *lib, check=0).stdout)
    assert {p["tag"] for p in calibrated} == {"cat", other}
    hits = json.loads(scout("search", "a photo", "--tag", "cat", "--all", "--json", *lib, check=0).stdout)
    assert [h["id"] for h in hits] == [int(cat)]
    assert "cat 1" in scout("search", "a photo", "--tag", "cat", "--all", *lib, check=0).stderr.split("tags here: ")[1]
    status = json.loads(scout("status", "--json", *lib, check=0).stdout)["tags"]
    assert status["taxonomy"] == "scout-starter" and status["accepted"] == 1 and status["rejected"] == len(waiting)
    overview = json.loads(scout("tag", "overview", "--json", *lib, check=0).stdout)
    assert {t["name"]: t["accepted"] for t in overview}["cat"] == 1


def test_tags_over_http_queue_decisions_and_token(tagged_library, offline_encoder):  # noqa: F811
    path = tagged_library.path
    tagged_library.close()
    with serve(path, offline_encoder, token="s3cret") as server, server.client() as http:
        tags = {t["name"]: t for t in http.get("/api/tags").json()}
        assert tags["cat"]["waiting"] >= 1 and tags["cat"]["parent"] == "nature"
        queue = http.get("/api/tags/queue", params={"tag": "cat"}).json()
        top = queue[0]
        assert top["name"] == "tabby-cat-chelsea.png" and top["thumbnail_url"] == f"/api/assets/{top['asset_id']}/thumbnail"
        body = {"reviewer": "ana", "decisions": [{"asset_id": top["asset_id"], "tag": "cat", "decision": "accepted"}]}
        assert http.post("/api/tags/decisions", json=body).status_code == 401
        headers = {"X-Scout-Token": "s3cret"}
        assert http.post("/api/tags/decisions", json=body, headers=headers).json() == {"recorded": 1}
        mine = http.get(f"/api/assets/{top['asset_id']}/tags").json()
        assert {"tag": "cat", "status": "accepted"}.items() <= mine[0].items()
        assert all(s["asset_id"] != top["asset_id"] for s in http.get("/api/tags/queue", params={"tag": "cat"}).json())
        typo = http.post("/api/tags/decisions", headers=headers,
                         json={"decisions": [{"asset_id": 1, "tag": "kat", "decision": "accepted"}]})
        assert typo.status_code == 400 and "'kat' is not a tag" in typo.json()["error"]
        bad = http.post("/api/tags/decisions", headers=headers,
                        json={"decisions": [{"asset_id": 1, "tag": "cat", "decision": "maybe"}]})
        assert bad.status_code == 422
        assert http.get("/api/tags/queue", params={"tag": "../../etc"}).status_code == 400
        found = http.get("/api/search", params={"q": "a photo", "tag": "cat", "all": "true", "mode": "vector"}).json()
        assert [h["asset"]["id"] for h in found["results"]] == [top["asset_id"]]
        too_many = http.get("/api/search", params={"q": "a photo", "tag": [f"t{i}" for i in range(9)]})
        assert too_many.status_code == 400 and "At most 8 tags" in too_many.json()["error"]
        assert http.get("/api/assets/999999/tags").status_code == 404


def test_the_tags_page_accepts_by_keyboard(browser, tagged_library, offline_encoder):  # noqa: F811
    path = tagged_library.path
    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    tagged_library.close()
    with serve(path, offline_encoder) as server:
        browser.get(f"{server.url}/tags.html?tag=cat")
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#cards .card[data-asset='{cat}']"))
        wait(browser).until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('#cards img')].every(i => i.complete && i.naturalWidth > 0)"))
        assert browser.find_element(By.CSS_SELECTOR, "#cards .card.focused").get_attribute("data-asset") == str(cat)
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "tags-page.png"))
        browser.find_element(By.ID, "reviewer").send_keys("ana")
        browser.find_element(By.ID, "cards").click()
        ActionChains(browser).send_keys("a").perform()
        wait(browser).until(lambda d: "1 accepted" in d.find_element(By.ID, "status").text)
        assert not browser.find_elements(By.CSS_SELECTOR, f"#cards .card[data-asset='{cat}']")
        pressed = browser.find_element(By.CSS_SELECTOR, "#tags button[aria-pressed='true']")
        assert pressed.get_attribute("data-tag") == "cat"
        ActionChains(browser).send_keys(Keys.SHIFT + "a").perform()  # nothing left on the page: a no-op
    reader = Library.open(path, readonly=True)
    assert ("cat", "accepted") in {(t.tag, t.status) for t in tag_reads.asset_tags(reader, cat)}
    reader.close()


def test_tag_facets_narrow_a_search_on_the_search_page(browser, tagged_library, offline_encoder):  # noqa: F811
    from tests.api.test_ui import search_for

    path = tagged_library.path
    tagged_library.close()
    with serve(path, offline_encoder) as server:
        search_for(browser, server.url, "an animal")
        chip = wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "#facets .facet[data-tag='cat']"))
        assert chip.get_attribute("aria-pressed") == "false" and chip.text.startswith("cat ")
        chip.click()
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) == 1)
        assert browser.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-path").endswith("tabby-cat-chelsea.png")
        pressed = browser.find_element(By.CSS_SELECTOR, "#facets .facet[data-tag='cat']")
        assert pressed.get_attribute("aria-pressed") == "true"
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "search-tag-facets.png"))
        pressed.click()  # and off again: more than the cat comes back
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) > 1)
    with serve(path, offline_encoder) as server, server.client() as http:
        page = http.get("/api/search", params={"q": "an animal", "mode": "vector", "all": "true"}).json()
        facets = {f["tag"]: f["count"] for f in page["facets"]}
        assert facets.get("cat") == 1 and all(n <= len(page["results"]) for n in facets.values())
