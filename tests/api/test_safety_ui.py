"""The brand-safety verdict in the web UI's detail view, in real headless Chromium."""

from __future__ import annotations

import shutil

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from indexer.safety.library_run import judge_library
from tests.api.conftest import serve
from tests.browser import wait
from tests.conftest import SAMPLE_PHOTOS, index_folder
from tests.indexer.test_ocr import render_text_photo


@pytest.fixture(scope="module")
def judged_server(tmp_path_factory, offline_encoder):
    base = tmp_path_factory.mktemp("safety-ui")
    root = base / "assets"
    render_text_photo(root / "flower-ad.jpg", "Free porn, click now", photo="pink-flower-closeup.jpg", width=1200)
    shutil.copy(SAMPLE_PHOTOS / "tabby-cat-chelsea.png", root / "cat.png")
    library, _ = index_folder(base / "lib", [root], offline_encoder)
    judge_library(library, offline_encoder, ocr=True)
    library.close()
    with serve(base / "lib", offline_encoder) as server:
        yield server


def open_card(browser, server, query: str, name: str):
    browser.get(server.url)
    wait(browser).until(EC.element_to_be_clickable((By.ID, "q"))).send_keys(query)
    wait(browser).until(lambda d: next(
        (c for c in d.find_elements(By.CSS_SELECTOR, ".card") if c.get_attribute("data-path").endswith(name)),
        None)).click()


def test_the_detail_view_shows_the_verdict_and_its_evidence(browser, judged_server):
    open_card(browser, judged_server, "a flower", "flower-ad.jpg")
    section = wait(browser).until(EC.visibility_of_element_located((By.ID, "d-safety")))
    verdict = browser.find_element(By.ID, "d-safety-verdict")
    assert verdict.text == "block" and verdict.get_attribute("data-verdict") == "block"
    reasons = section.find_element(By.ID, "d-safety-reasons").text.lower()
    assert "adult" in reasons and "porn" in reasons  # the reason, with the word as the OCR read it


def test_a_safe_asset_says_it_was_judged_and_found_nothing(browser, judged_server):
    open_card(browser, judged_server, "a cat", "cat.png")
    section = wait(browser).until(EC.visibility_of_element_located((By.ID, "d-safety")))
    assert browser.find_element(By.ID, "d-safety-verdict").text == "safe"
    assert "nothing found" in section.text
