"""The batch contact sheet: self-contained HTML that opens from disk and shows every render."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image

from generation.compose import render, save
from generation.contact_sheet import SheetBrief, SheetRender, SheetVariant, write_contact_sheet
from generation.copy.variant import CopyVariant
from tests.conftest import SAMPLE_PHOTOS

FORMATS = ("1080x1080", "1200x628", "1080x1920")


def build_batch(root: Path) -> list[SheetBrief]:
    """Two briefs rendered for real (one in a folder with a space and accents), one failed."""
    briefs = []
    for brief_id, photo, folder in (("lisbon-cafe", "cup-of-coffee-on-saucer.png", "lisbon café 1"),
                                    ("beijing-palace", "chinese-temple-summer-palace.jpg", "beijing")):
        image = Image.open(SAMPLE_PHOTOS / photo).convert("RGB")
        variants = []
        for n, headline in enumerate((f"{brief_id}: slow mornings", "<script>alert('x')</script> & more"), 1):
            copy = CopyVariant(headline=headline, body="A cup, a view, a morning.", cta="Book now")
            renders = []
            for fmt in FORMATS:
                rendered = render(image, fmt, copy)
                png, jpeg = save(rendered, root / folder / "renders", f"v{n}-{fmt}")
                renders.append(SheetRender(fmt, png, jpeg, ("scrim",) if rendered.scrim_used else ()))
            variants.append(SheetVariant(f"Variant {n}", copy.headline, copy.body, copy.cta,
                                         ("references 'harbour', which the image does not show",) if n == 2 else (),
                                         tuple(renders)))
        briefs.append(SheetBrief(brief_id, f"Subject of {brief_id}", SAMPLE_PHOTOS / photo,
                                 f"reused: {photo}", tuple(variants)))
    briefs.append(SheetBrief("oslo-fjord", "a fjord at dawn", error="No image matched and generation is off."))
    return briefs


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    briefs = build_batch(root)
    return write_contact_sheet(briefs, root / "contact-sheet.html", title="Summer batch"), briefs


def test_sheet_is_self_contained_with_relative_links(sheet):
    path, briefs = sheet
    page = path.read_text(encoding="utf-8")
    assert "<style>" in page and "<script" not in page.replace("&lt;script&gt;", "")
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    files = [link for link in links if not link.startswith("#")]
    assert files and not any(re.match(r"^[a-z]+:", link) or link.startswith("/") for link in files)
    for link in files:
        assert (path.parent / unquote(link)).resolve().is_file(), link
    rendered = {r.png.resolve() for b in briefs for v in b.variants for r in v.renders}
    linked = {(path.parent / unquote(link)).resolve() for link in files}
    assert rendered <= linked and len(rendered) == 2 * 2 * len(FORMATS)


def test_copy_is_escaped_and_flags_and_errors_are_shown(sheet):
    page = sheet[0].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "which the image does not show" in page
    assert "No image matched and generation is off." in page
    assert "3 briefs, 4 copy variants, 12 renders, 1 failed" in page


def test_a_missing_render_is_marked_not_hidden(tmp_path):
    ghost = tmp_path / "gone.png"
    brief = SheetBrief("b", variants=(SheetVariant("Variant 1", "Hi", renders=(SheetRender("1080x1080", ghost),)),))
    page = write_contact_sheet([brief], tmp_path / "sheet.html").read_text(encoding="utf-8")
    assert "missing: gone.png" in page


def test_sheet_opens_from_disk_in_chromium_and_shows_every_render(sheet, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import ARTIFACTS, start_chromium

    path, briefs = sheet
    driver = start_chromium(tmp_path / "profile", window="1400,1000")
    try:
        driver.get(path.as_uri())
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "return [...document.images].every(i => i.complete)"))
        figures = driver.find_elements(By.CSS_SELECTOR, "figure.render")
        assert len(figures) == 12
        assert sorted({f.get_attribute("data-format") for f in figures}) == sorted(FORMATS)
        broken = driver.execute_script(
            "return [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src'))")
        assert broken == []
        assert len(driver.find_elements(By.CSS_SELECTOR, "img")) == 12 + 2  # renders + chosen images
        text = driver.find_element(By.TAG_NAME, "body").text
        for brief in briefs:
            assert brief.brief_id in text
        assert "<script>alert('x')</script> & more" in text  # shown as text, never run
        assert driver.execute_script("return document.scripts.length") == 0
        ARTIFACTS.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "contact-sheet.png"))
    finally:
        driver.quit()
