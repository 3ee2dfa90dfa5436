"""The Duplicates page in real headless Chromium: groups with their suggested keeper marked,
thumbnails loaded, the identical-only switch, and file names shown as text, never as HTML."""

from __future__ import annotations

import os
import shutil

import pytest
from selenium.webdriver.common.by import By

from benchmarks.duplicates import write_variants
from indexer.metadata import MetadataPass
from indexer.perceptual import PerceptualPass
from tests.api.conftest import serve
from tests.browser import ARTIFACTS, wait
from tests.conftest import SAMPLE_PHOTOS, index_folder

HOSTILE = "<img src=x onerror=alert(1)>.jpg"


@pytest.fixture(scope="module")
def copies(tmp_path_factory, offline_encoder):
    """A library with two groups: five near copies of a rocket photo, and a flower photo stored
    again under a file name that is HTML markup."""
    folder = tmp_path_factory.mktemp("duplicates-ui")
    root = folder / "photos"
    root.mkdir()
    for name in ("spacex-rocket-launch.jpg", "pink-flower-closeup.jpg"):
        shutil.copy2(SAMPLE_PHOTOS / name, root / name)
        os.utime(root / name, (1_500_000_000, 1_500_000_000))
    write_variants(root / "spacex-rocket-launch.jpg", root / "variants")
    shutil.copy2(SAMPLE_PHOTOS / "pink-flower-closeup.jpg", root / HOSTILE)
    library, _ = index_folder(folder / "lib", [root], offline_encoder, passes=[MetadataPass(), PerceptualPass()])
    library.close()
    return folder / "lib", root


def test_groups_show_the_keeper_and_the_exact_switch_narrows_them(browser, copies, offline_encoder):
    library, root = copies
    with serve(library, offline_encoder) as server:
        browser.get(f"{server.url}/")
        wait(browser).until(lambda d: d.find_element(By.ID, "nav-duplicates")).click()
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#clusters .cluster")) == 2)
        assert browser.find_element(By.ID, "d-status").text.startswith("2 groups, 6 files besides the suggested keepers")
        cards = browser.find_elements(By.CSS_SELECTOR, "#clusters .cluster")
        near = next(c for c in cards if "NEAR" in c.find_element(By.CSS_SELECTOR, ".badge").text.upper())
        keeper = near.find_element(By.CSS_SELECTOR, ".member.keeper")
        assert keeper.find_element(By.CSS_SELECTOR, ".role").text == "Keep"
        assert keeper.find_element(By.CSS_SELECTOR, ".path").text == str(root / "spacex-rocket-launch.jpg")
        assert len(near.find_elements(By.CSS_SELECTOR, ".member.near")) == 5
        assert [c.find_element(By.TAG_NAME, "h2").text.split(":")[0][-7:] for c in cards] == ["Group 1", "Group 2"]
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # thumbnails load lazily
        wait(browser).until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('#clusters img')].every(i => i.complete && i.naturalWidth > 0)"))
        paths = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".member .path")]
        assert str(root / HOSTILE) in paths  # shown as text
        assert not browser.find_elements(By.CSS_SELECTOR, ".member figcaption img")  # never parsed as HTML
        browser.execute_script("window.scrollTo(0, 0)")
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "duplicates.png"))

        browser.find_element(By.ID, "exact").click()
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#clusters .cluster")) == 1)
        only = browser.find_element(By.CSS_SELECTOR, "#clusters .cluster")
        assert "IDENTICAL" in only.find_element(By.CSS_SELECTOR, ".badge").text.upper()
        assert {m.text for m in only.find_elements(By.CSS_SELECTOR, ".role")} == {"Keep", "Same file"}


def test_groups_come_a_page_at_a_time(browser, copies, offline_encoder):
    library, _ = copies
    with serve(library, offline_encoder) as server:
        browser.get(f"{server.url}/duplicates.html?per_page=1")
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#clusters .cluster")) == 1)
        more = browser.find_element(By.ID, "more")
        assert more.is_displayed() and more.text == "Show more groups (1 of 2 shown)"
        assert browser.find_element(By.ID, "d-status").text.startswith("2 groups, 6 files besides the suggested keepers")
        more.click()
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#clusters .cluster")) == 2)
        assert not more.is_displayed()
        titles = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#clusters .cluster h2")]
        assert [t.split(":")[0][-7:] for t in titles] == ["Group 1", "Group 2"]
        assert "6 files" in titles[0]  # largest group first, on the first page

        browser.find_element(By.ID, "exact").click()  # a new question starts again from the first page
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#clusters .cluster")) == 1)
        assert not more.is_displayed()


def test_the_detail_view_shows_embedded_metadata_and_flagged_rights(browser, tmp_path, offline_encoder):
    from selenium.webdriver.support import expected_conditions as EC

    from tests.indexer.test_metadata import PARIS, write_photo

    root = tmp_path / "photos"
    root.mkdir()
    write_photo(root / "paris.jpg", 7, **{**PARIS, "xmp": {**PARIS["xmp"], "Xmp.plus.LicenseEndDate": "2020-01-31"}})
    shutil.copy2(SAMPLE_PHOTOS / "pink-flower-closeup.jpg", root / "flower.jpg")
    index_folder(tmp_path / "lib", [root], offline_encoder, passes=[MetadataPass()])[0].close()
    with serve(tmp_path / "lib", offline_encoder) as server:
        browser.get(f"{server.url}/")
        wait(browser).until(EC.element_to_be_clickable((By.ID, "q"))).send_keys("eiffel")
        card = wait(browser).until(lambda d: next((c for c in d.find_elements(By.CSS_SELECTOR, ".card")
                                                   if c.get_attribute("data-path").endswith("paris.jpg")), None))
        card.click()
        wait(browser).until(lambda d: "Canon EOS R5" in d.find_element(By.ID, "d-meta").text)
        meta = browser.find_element(By.ID, "d-meta").text
        for shown in ("Expired", "2021-06-05 12:30 UTC", "RF24-70mm F2.8 L IS USM", "48.85823, -2.29450",
                      "Eiffel tower at dusk", "paris, Eiffel tower, dusk, tower", "Editorial use only", "★★★★"):
            assert shown in meta, shown
        browser.save_screenshot(str(ARTIFACTS / "ui-detail-metadata.png"))
        browser.find_element(By.ID, "d-close").click()
        browser.find_element(By.ID, "q").clear()
        browser.find_element(By.ID, "q").send_keys("a picture")
        browser.find_element(By.ID, "f-all").click()
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) == 2)
        camera = browser.find_element(By.ID, "f-camera")
        browser.execute_script("arguments[0].scrollIntoView()", camera)
        camera.send_keys("eos r5\n")
        wait(browser).until(lambda d: [c.get_attribute("data-path").rsplit("/", 1)[1]
                                       for c in d.find_elements(By.CSS_SELECTOR, ".card")] == ["paris.jpg"])
        browser.save_screenshot(str(ARTIFACTS / "ui-metadata-filters.png"))
        browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "f-rights"))
        browser.find_element(By.ID, "f-rights").click()  # its licence ended in 2020
        wait(browser).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".card"))
        browser.find_element(By.ID, "f-reset").click()
        wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) == 2)
        assert browser.find_element(By.ID, "f-camera").get_attribute("value") == ""
