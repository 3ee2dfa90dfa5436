"""The web UI in real headless Chromium (Debian chromium + chromedriver, driven by Selenium)."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from tests.browser import ARTIFACTS, wait
from tests.conftest import SAMPLE_PHOTOS


def first_card_name(driver) -> str:
    return Path(driver.find_element(By.CSS_SELECTOR, ".card").get_attribute("data-path")).name


def search_for(driver, url, text):
    driver.get(url)
    box = wait(driver).until(EC.element_to_be_clickable((By.ID, "q")))
    box.send_keys(text)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card"))


def test_typing_a_cat_shows_the_cat_first(browser, live):
    search_for(browser, live.url, "a cat")
    wait(browser).until(lambda d: first_card_name(d) == "tabby-cat-chelsea.png")
    assert "results" in browser.find_element(By.ID, "summary").text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.find_element(By.ID, "f-all").click()  # fill the grid for the screenshot
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) == 18)
    # The thumbnails on screen really load (a broken thumbnail URL would leave grey tiles).
    wait(browser).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('.card img')].slice(0, 10)"
        ".every(i => i.complete && i.naturalWidth > 0)"))
    assert browser.save_screenshot(str(ARTIFACTS / "ui-results.png"))


def test_detail_view_and_more_like_this(browser, live):
    search_for(browser, live.url, "a rocket launch")
    wait(browser).until(lambda d: first_card_name(d) == "spacex-rocket-launch.jpg")
    browser.find_element(By.CSS_SELECTOR, ".card").click()
    detail = wait(browser).until(EC.visibility_of_element_located((By.ID, "detail")))
    assert browser.find_element(By.ID, "d-name").text == "spacex-rocket-launch.jpg"
    assert "640 × 427" in detail.text
    browser.save_screenshot(str(ARTIFACTS / "ui-detail.png"))
    browser.find_element(By.ID, "d-similar").click()
    wait(browser).until(EC.invisibility_of_element_located((By.ID, "detail")))
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".example-chip"))
    wait(browser).until(lambda d: first_card_name(d) == "spacex-rocket-launch.jpg")
    assert browser.find_element(By.ID, "q").get_attribute("value") == ""


def test_keyboard_navigation_opens_and_closes_detail(browser, live):
    search_for(browser, live.url, "a cup of coffee")
    wait(browser).until(lambda d: first_card_name(d) == "cup-of-coffee-on-saucer.png")
    box = browser.find_element(By.ID, "q")
    box.send_keys(Keys.ARROW_DOWN)
    active = browser.switch_to.active_element
    assert Path(active.get_attribute("data-path")).name == "cup-of-coffee-on-saucer.png"
    active.send_keys(Keys.ENTER)
    wait(browser).until(EC.visibility_of_element_located((By.ID, "detail")))
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(browser).until(EC.invisibility_of_element_located((By.ID, "detail")))


def test_upload_an_image_to_search_by_example(browser, live):
    browser.get(live.url)
    upload = wait(browser).until(EC.presence_of_element_located((By.ID, "file")))
    upload.send_keys(str(SAMPLE_PHOTOS / "cup-of-coffee-on-saucer.png"))
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card"))
    wait(browser).until(lambda d: first_card_name(d) == "cup-of-coffee-on-saucer.png")
    assert browser.find_elements(By.CSS_SELECTOR, ".example-chip")


def test_empty_and_no_result_states_say_something_useful(browser, live):
    browser.get(live.url)
    wait(browser).until(EC.visibility_of_element_located((By.ID, "state")))
    wait(browser).until(lambda d: "18 assets" in d.find_element(By.ID, "state").text)
    # Nothing clears the cutoff: the closest few are shown, dimmed and labelled, under a notice.
    browser.find_element(By.ID, "q").send_keys("a red sports car on a racetrack")
    wait(browser).until(lambda d: "No strong matches" in d.find_element(By.ID, "summary").text)
    weak = browser.find_elements(By.CSS_SELECTOR, ".card.weak")
    assert len(weak) == len(browser.find_elements(By.CSS_SELECTOR, ".card")) == 5
    assert all(card.find_element(By.CSS_SELECTOR, ".weak-flag").text == "Weak match" for card in weak)
    assert "weak-notice" in browser.find_element(By.ID, "summary").get_attribute("class")


def test_narrow_screens_fold_the_filters_away(browser, live):
    browser.set_window_size(420, 860)
    try:
        search_for(browser, live.url, "a cat")
        filters = browser.find_element(By.ID, "filters")
        assert not filters.is_displayed()
        browser.find_element(By.ID, "filters-toggle").click()
        assert filters.is_displayed()
        browser.save_screenshot(str(ARTIFACTS / "ui-narrow-filters.png"))
    finally:
        browser.set_window_size(1440, 900)
