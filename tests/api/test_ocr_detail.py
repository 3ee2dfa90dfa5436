"""The text found in an image, as a user meets it: the asset detail over HTTP (text and boxes) and
the detail view in real headless Chromium (the text beside the image, its boxes drawn over it)."""

from __future__ import annotations

import shutil
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from indexer.ocr import load_ocr_engine
from indexer.ocr.content_pass import OcrPass
from tests.api.conftest import serve
from tests.browser import ARTIFACTS, wait
from tests.conftest import SAMPLE_PHOTOS, index_folder
from tests.indexer.test_ocr import overlap, render_text_photo, squeezed


@pytest.fixture(scope="module")
def ocr_server(tmp_path_factory, offline_encoder):
    base = tmp_path_factory.mktemp("ocr-http")
    root = base / "assets"
    drawn = render_text_photo(root / "coffee-ad.jpg", "FRESH ROAST", width=1500)
    shutil.copy(SAMPLE_PHOTOS / "pink-flower-closeup.jpg", root / "flower.jpg")
    library, _ = index_folder(base / "lib", [root], offline_encoder, passes=[OcrPass(load_ocr_engine())])
    ids = {a.name: a.id for a in (library.catalog.asset_by_path(str(root / n)) for n in ("coffee-ad.jpg", "flower.jpg"))}
    library.close()
    with serve(base / "lib", offline_encoder) as server:
        yield server, ids, drawn


def test_the_detail_returns_the_text_and_its_boxes(ocr_server):
    server, ids, drawn = ocr_server
    with server.client() as client:
        detail = client.get(f"/api/assets/{ids['coffee-ad.jpg']}").json()
        plain = client.get(f"/api/assets/{ids['flower.jpg']}").json()
        status = client.get("/api/status").json()
    assert status["ocr"] == {"enabled": True, "read": 2, "with_text": 1, "failed": 0}
    ocr = detail["ocr"]
    assert "FRESHROAST" in squeezed(ocr["text"]) and ocr["error"] is None and ocr["engine"].startswith("rapidocr")
    line = next(line for line in ocr["lines"] if "FRESH" in line["text"])
    assert len(line["box"]) == 4 and overlap(line["box"], drawn) > 0.6  # in the 1500 px original's pixels
    assert plain["ocr"]["text"] == "" and plain["ocr"]["lines"] == []  # read, nothing found


def test_an_index_job_reads_text_as_the_server_settings_say(tmp_path, offline_encoder):
    """A library that never chose gets the server's default (on here; $SCOUT_OCR at `scout serve`)."""
    root = tmp_path / "assets"
    render_text_photo(root / "poster.jpg", "OPEN HOUSE", width=900)
    index_folder(tmp_path / "lib", [root], offline_encoder)[0].close()  # embedded, never read
    with serve(tmp_path / "lib", offline_encoder, token="t", ocr_default=True) as server:
        client = server.client(headers={"X-Scout-Token": "t"})
        job_id = client.post("/api/index-jobs", json={}).json()["id"]
        deadline = time.monotonic() + 240
        while (state := client.get(f"/api/index-jobs/{job_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert state["status"] == "completed", state
        asset_id = client.get("/api/search", params={"q": "poster", "all": True}).json()["results"][0]["asset"]["id"]
        assert "OPENHOUSE" in squeezed(client.get(f"/api/assets/{asset_id}").json()["ocr"]["text"])
        assert client.get("/api/status").json()["ocr"]["enabled"] is True


def test_an_asset_never_read_has_no_ocr(live):
    with live.client() as client:
        hit = client.get("/api/search", params={"q": "a cat"}).json()["results"][0]
        assert client.get(f"/api/assets/{hit['asset']['id']}").json()["ocr"] is None


def test_the_detail_view_shows_the_text_and_draws_its_boxes(browser, ocr_server):
    server, ids, _ = ocr_server
    browser.get(server.url)
    box = wait(browser).until(EC.element_to_be_clickable((By.ID, "q")))
    box.send_keys("coffee")
    card = wait(browser).until(lambda d: next(
        (c for c in d.find_elements(By.CSS_SELECTOR, ".card") if c.get_attribute("data-path").endswith("coffee-ad.jpg")),
        None))
    card.click()
    section = wait(browser).until(EC.visibility_of_element_located((By.ID, "d-ocr")))
    assert "FRESH" in section.text and "Text in the image" in section.text
    boxes = browser.find_elements(By.CSS_SELECTOR, "#d-boxes polygon")
    assert boxes and any("FRESH" in b.get_attribute("textContent") for b in boxes)
    # The drawn box sits over the headline: in the upper part of the shown image, not off it.
    image = browser.find_element(By.ID, "d-img").rect
    first = boxes[0].rect
    assert image["x"] <= first["x"] < image["x"] + image["width"] / 2
    assert image["y"] <= first["y"] < image["y"] + image["height"] / 2
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "ui-ocr-detail.png"))
    browser.find_element(By.ID, "d-close").click()
    # Another asset's detail does not keep the last one's text or boxes.
    wait(browser).until(EC.invisibility_of_element_located((By.ID, "detail")))
    box.clear()
    box.send_keys("flower")
    wait(browser).until(lambda d: next(
        (c for c in d.find_elements(By.CSS_SELECTOR, ".card") if c.get_attribute("data-path").endswith("flower.jpg")),
        None)).click()
    wait(browser).until(EC.visibility_of_element_located((By.ID, "detail")))
    assert not browser.find_element(By.ID, "d-ocr").is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, "#d-boxes polygon") == []
