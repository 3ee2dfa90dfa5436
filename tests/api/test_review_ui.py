"""The Review and Report pages in real headless Chromium: rating a few pieces by keyboard only,
the arm revealed only after each rating, then the report page with its plot."""

from __future__ import annotations

import io

from PIL import Image

from indexer.library import Library
from indexer.reviews import ReviewDesk, ReviewDraft
from tests.api.conftest import serve
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.browser import ARTIFACTS, wait
from tests.conftest import SAMPLE_PHOTOS, index_folder, write_images


def build_panel(tmp_path, encoder):
    write_images(tmp_path / "photos", 2)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], encoder)
    desk = ReviewDesk(library)
    desk.add([ReviewDraft(key=f"k{i}", destination="beijing", arm=arm, headline=f"The palace, variant {i}",
                          body="Walk the Long Corridor at dawn.", cta="Book now",
                          provenance={"arm": arm, "copy": {"writer": "template"}, "image": {"source": "library"}},
                          machine_seconds=20, image=SAMPLE_PHOTOS / "chinese-temple-summer-palace.jpg",
                          renders={"640x427": SAMPLE_PHOTOS / "chinese-temple-summer-palace.jpg",
                                   "427x640": SAMPLE_PHOTOS / "spacex-rocket-launch.jpg"})
              for i, arm in enumerate(["ai_reused", "ai_generated"], start=1)])
    buffer = io.BytesIO()
    Image.new("RGB", (640, 427), (30, 60, 120)).save(buffer, "PNG")
    desk.add_manual("beijing", [("manual.png", buffer.getvalue())], "Hand-made palace ad", "By the studio.", "Visit",
                    hours=4)
    library.close()
    return tmp_path / "lib"


def press(driver, *keys):
    for key in keys:
        ActionChains(driver).send_keys(key).perform()


def shown_item_id(driver) -> str:
    return driver.find_element(By.ID, "i-position").text.rsplit("item ", 1)[1]


def test_rating_by_keyboard_reveals_the_arm_after_each_rating_then_the_report(browser, tmp_path,  # noqa: F811
                                                                              offline_encoder):
    library = build_panel(tmp_path, offline_encoder)
    with serve(library, offline_encoder) as server:
        browser.get(f"{server.url}/review.html?reviewer=ana")
        wait(browser).until(lambda d: d.find_element(By.ID, "i-headline").text)
        assert not browser.find_element(By.ID, "reveal").is_displayed()
        assert browser.find_element(By.ID, "progress").text == "ana: 0 of 3 rated"
        wait(browser).until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('#item img')].every(i => i.complete && i.naturalWidth > 0)"))
        assert len(browser.find_elements(By.CSS_SELECTOR, "#i-renders figure")) >= 1
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "review-item.png"))

        seen = []
        # First piece: 4, approve, Enter -> saved and revealed.
        seen.append(shown_item_id(browser))
        press(browser, "4", "a", "\ue007")
        wait(browser).until(lambda d: d.find_element(By.ID, "reveal").is_displayed())
        assert browser.find_element(By.ID, "r-arm").text.startswith("This was:")
        assert browser.find_element(By.ID, "progress").text == "ana: 1 of 3 rated"
        browser.save_screenshot(str(ARTIFACTS / "review-revealed.png"))

        # Enter again moves on. Second piece: a rating without a verdict is refused, then 2 + reject.
        press(browser, "\ue007")
        wait(browser).until(lambda d: shown_item_id(d) != seen[0])
        assert not browser.find_element(By.ID, "reveal").is_displayed()
        seen.append(shown_item_id(browser))
        press(browser, "3", "\ue007")
        wait(browser).until(lambda d: "Approve (A) or reject (R)" in d.find_element(By.ID, "status").text)
        press(browser, "2", "r", "\ue007")
        wait(browser).until(lambda d: d.find_element(By.ID, "reveal").is_displayed())

        # Arrow right moves on; the last piece gets a comment (C focuses it, Ctrl+Enter submits).
        press(browser, "\ue014")
        wait(browser).until(lambda d: shown_item_id(d) not in seen)
        seen.append(shown_item_id(browser))
        press(browser, "5", "a", "c")
        browser.switch_to.active_element.send_keys("Lovely light")
        ActionChains(browser).key_down("\ue009").send_keys("\ue007").key_up("\ue009").perform()
        wait(browser).until(lambda d: d.find_element(By.ID, "reveal").is_displayed())
        # Arrow left goes back to a rated piece, shown revealed with its rating.
        press(browser, "\ue012")
        wait(browser).until(lambda d: shown_item_id(d) == seen[1])
        assert browser.find_element(By.ID, "reveal").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, "#stars [aria-checked=true]").text == "2"
        press(browser, "\ue014", "\ue014")
        wait(browser).until(lambda d: d.find_element(By.ID, "done").is_displayed())
        assert "rated 3 of 3" in browser.find_element(By.ID, "done").text

        # Manual work entered from the page joins the queue, blind.
        upload = tmp_path / "studio-ad.png"
        Image.new("RGB", (1080, 1080), (120, 40, 40)).save(upload)
        browser.find_element(By.CSS_SELECTOR, "#manual summary").click()
        form = browser.find_element(By.ID, "manual-form")
        for name, value in (("destination", "beijing"), ("headline", "Studio palace ad"), ("hours", "4")):
            form.find_element(By.NAME, name).send_keys(value)
        browser.find_element(By.ID, "manual-files").send_keys(str(upload))
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser).until(lambda d: "Added as item" in d.find_element(By.ID, "manual-status").text)
        wait(browser).until(lambda d: d.find_element(By.ID, "i-headline").text == "Studio palace ad")
        assert not browser.find_element(By.ID, "reveal").is_displayed()
        assert browser.find_element(By.ID, "progress").text == "ana: 3 of 4 rated"

        reader = Library.open(library, readonly=True)
        stored = {str(r["item_id"]): (r["rating"], r["approved"]) for r in reader.catalog.review_ratings()}
        assert stored == {seen[0]: (4, True), seen[1]: (2, False), seen[2]: (5, True)}
        assert reader.catalog.rating(int(seen[2]), "ana")["comment"] == "Lovely light"
        assert all(r["seconds"] > 0 for r in reader.catalog.review_ratings())
        reader.close()

        browser.get(f"{server.url}/report.html")
        wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#arms tbody tr"))
        arms = {row.get_attribute("data-arm"): row.text for row in browser.find_elements(By.CSS_SELECTOR, "#arms tbody tr")}
        assert set(arms) == {"ai_assisted", "ai_reused", "ai_generated", "manual"}
        assert "Manual time per destination" in browser.find_element(By.ID, "facts").text
        assert "240 min" in browser.find_element(By.ID, "facts").text
        wait(browser).until(lambda d: d.execute_script(
            "const i = document.getElementById('plot'); return i.complete && i.naturalWidth > 0"))
        browser.save_screenshot(str(ARTIFACTS / "review-report.png"))
