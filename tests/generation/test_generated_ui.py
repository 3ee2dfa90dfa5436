"""Generated images in the web UI (real headless Chromium): the badge, the Source filter and the
provenance in the detail view."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests.browser import wait


def cards(driver):
    return driver.find_elements(By.CSS_SELECTOR, ".card")


def test_badge_source_filter_and_provenance(browser, mixed_server, mixed_library):  # noqa: F811
    _, generated_id = mixed_library
    browser.get(mixed_server.url)
    wait(browser).until(EC.element_to_be_clickable((By.ID, "f-all"))).click()
    browser.find_element(By.ID, "q").send_keys("harbour")
    wait(browser).until(lambda d: len(cards(d)) == 5)

    flagged = [c for c in cards(browser) if c.find_elements(By.CSS_SELECTOR, ".gen-flag")]
    assert [c.get_attribute("data-id") for c in flagged] == [str(generated_id)]
    assert flagged[0].find_element(By.CSS_SELECTOR, ".gen-flag").text == "Generated"

    browser.find_element(By.CSS_SELECTOR, '#f-source [data-value="library"]').click()
    wait(browser).until(lambda d: len(cards(d)) == 4)
    assert not browser.find_elements(By.CSS_SELECTOR, ".gen-flag")

    browser.find_element(By.CSS_SELECTOR, '#f-source [data-value="generated"]').click()
    wait(browser).until(lambda d: len(cards(d)) == 1)
    cards(browser)[0].click()
    wait(browser).until(EC.visibility_of_element_located((By.ID, "detail")))
    wait(browser).until(lambda d: "harbour at dusk, fishing boats" in d.find_element(By.ID, "d-meta").text)
    meta = browser.find_element(By.ID, "d-meta").text
    assert "Generated" in meta and "42" in meta and "porto" in meta

    browser.find_element(By.ID, "d-close").click()
    browser.find_element(By.ID, "f-reset").click()
    assert browser.find_element(By.CSS_SELECTOR, '#f-source [data-value=""]').get_attribute("class") == "on"
    assert browser.find_element(By.CSS_SELECTOR, '#f-source [data-value="generated"]').get_attribute("class") == ""
