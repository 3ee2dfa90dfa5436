"""The Briefs page in real headless Chromium: run briefs, see candidates, badges and breakdowns."""

from __future__ import annotations

import shutil

import pytest

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.api.conftest import serve
from tests.browser import ARTIFACTS, wait


@pytest.fixture(scope="module")
def server(sample_library, offline_encoder, tmp_path_factory):
    library, _ = sample_library
    copy = tmp_path_factory.mktemp("briefs-ui") / "lib"
    shutil.copytree(library.path, copy)
    with serve(copy, offline_encoder) as live:
        yield live


def slow_wait(driver):
    """A brief batch runs on 2 busy cores: give the page a minute."""
    return wait(driver, 60)


def test_run_briefs_and_read_their_candidates(browser, server):
    browser.get(server.url)
    browser.find_element(By.ID, "nav-briefs").click()
    slow_wait(browser).until(EC.element_to_be_clickable((By.ID, "run"))).click()
    slow_wait(browser).until(lambda d: "completed, 2 of 2" in d.find_element(By.ID, "job-status").text)
    cards = {c.get_attribute("data-brief"): c for c in browser.find_elements(By.CSS_SELECTOR, ".brief")}
    assert set(cards) == {"beijing-summer-palace", "lisbon-tram-sunset"}

    palace = cards["beijing-summer-palace"]
    assert palace.find_element(By.CSS_SELECTOR, ".badge.reused").text == "reused"
    best = palace.find_element(By.CSS_SELECTOR, ".candidate.best")
    assert best.find_element(By.TAG_NAME, "img").get_attribute("alt") == "chinese-temple-summer-palace.jpg"
    assert "selected" in best.get_attribute("class") and best.find_element(By.CSS_SELECTOR, ".source").text == "library"

    tram = cards["lisbon-tram-sunset"]
    assert tram.find_element(By.CSS_SELECTOR, ".badge.needs_generation").text == "needs generation"
    prompt = tram.find_element(By.CSS_SELECTOR, ".prompt-text").text
    assert prompt.startswith("Advertising photograph of a yellow tram in Lisbon at sunset")
    assert not tram.find_elements(By.CSS_SELECTOR, ".candidate.selected")

    slow_wait(browser).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('.candidate img')].every(i => i.complete && i.naturalWidth > 0)"))
    best.click()
    dialog = wait(browser).until(EC.visibility_of_element_located((By.ID, "breakdown")))
    rows = dialog.find_elements(By.CSS_SELECTOR, "#bd-table tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text.split(":")[0] for r in rows] == [
        "subject", "selling_point 1", "tone", "must_show 1", "must_avoid 1"]
    assert "clear match" in rows[0].text
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "ui-briefs-breakdown.png"))


def test_bad_json_and_invalid_briefs_are_explained(browser, server):
    browser.get(server.url + "/briefs.html")
    box = wait(browser).until(EC.element_to_be_clickable((By.ID, "brief-json")))
    box.clear()
    box.send_keys('[{"id": "a"}]')
    browser.find_element(By.ID, "run").click()
    status = browser.find_element(By.ID, "form-status")
    slow_wait(browser).until(lambda d: "subject" in status.text)
    assert "error" in status.get_attribute("class")
    box.clear()
    box.send_keys("{not json")
    browser.find_element(By.ID, "run").click()
    slow_wait(browser).until(lambda d: "Not valid JSON" in status.text)
