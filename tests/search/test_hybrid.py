"""Hybrid search over a small labelled library: the 18 sample photos laid out as a creative team
would (benchmarks/hybrid.py): product names in file names, campaigns in folders, headlines
printed in four photos, embedded keywords in one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.hybrid import SIGNS, keyword_library, render_sign
from indexer.catalog.ocr import OcrRow
from indexer.errors import QueryError
from indexer.library import Library
from indexer.ocr.content_pass import ocr_passes
from indexer.settings import IndexSettings
from search.engine import Searcher
from search.query import Example, Filters, Query, parse_text
from tests.conftest import SAMPLE_PHOTOS, index_folder


@pytest.fixture(scope="module")
def creative(tmp_path_factory, offline_encoder):
    """(searcher, original photo name -> asset path) over the keyword library; the headlines'
    OCR rows and one photo's embedded keywords written through the catalog as the passes do."""
    base = tmp_path_factory.mktemp("creative")
    written = keyword_library(base / "Creative")
    library, _ = index_folder(base / "lib", [base / "Creative"], offline_encoder)
    catalog = library.catalog
    hashes = {name: catalog.asset_by_path(str(path.resolve())).hash for name, path in written.items()}
    catalog.store_ocr([OcrRow(hashes[name], "test", text) for name, text in SIGNS.items()])
    catalog.write_media("test", [(hashes["horse-silhouette-drawing.png"],
                                  {"title": "Stable logo", "keywords": ["Heritage Collection", "equestrian"]}, None)])
    library.close()
    readonly = Library.open(base / "lib", readonly=True)
    return Searcher(readonly, offline_encoder), {str(p.resolve()): name for name, p in written.items()}


def names(result, paths) -> list[str]:
    return [paths[h.asset.path] for h in result.hits]


def search(searcher, text, mode="hybrid", **kw):
    return searcher.search(Query(parts=parse_text(text), mode=mode, **kw))


def test_file_name_words_find_a_product_the_model_cannot_know(creative):
    searcher, paths = creative
    result = search(searcher, "purrfectbite", mode="hybrid")
    assert names(result, paths)[0] == "tabby-cat-chelsea.png"
    assert [(k.field, k.terms) for k in result.hits[0].keywords] == [("name", ("purrfectbite",))]
    assert "name: purrfectbite" in result.hits[0].why
    assert "tabby-cat-chelsea.png" not in names(search(searcher, "purrfectbite", mode="vector"), paths)[:1]


def test_campaign_names_in_folders_find_every_file_of_the_campaign(creative):
    searcher, paths = creative
    found = names(search(searcher, "lumina spring 2026"), paths)
    assert set(found[:2]) == {"pink-flower-closeup.jpg", "green-grass-texture.png"}
    hit = search(searcher, "lumina spring 2026", mode="keyword").hits[0]
    assert hit.keywords[0].field == "folder" and set(hit.keywords[0].terms) == {"lumina", "spring", "2026"}


def test_words_printed_in_an_image_are_found_with_a_snippet(creative):
    searcher, paths = creative
    result = search(searcher, "grand opening")
    assert names(result, paths)[0] == "brick-wall-texture.png"
    ocr = [k for k in result.hits[0].keywords if k.field == "ocr"][0]
    assert ocr.terms == ("grand", "opening") and ocr.snippet == "[GRAND] [OPENING]"
    assert "ocr: grand, opening “[GRAND] [OPENING]”" in result.hits[0].why


def test_embedded_keywords_are_found(creative):
    searcher, paths = creative
    result = search(searcher, "heritage collection", mode="keyword")
    assert names(result, paths) == ["horse-silhouette-drawing.png"]
    assert result.hits[0].keywords[0].field == "keywords"


def test_fusion_puts_what_both_rankings_agree_on_first(creative):
    """"lumina flower": both Lumina files match the word, only the flower the meaning; the
    flower comes first, then the grass (a keyword hit the meaning ranking alone would not show)."""
    searcher, paths = creative
    assert names(search(searcher, "lumina flower"), paths)[:2] == ["pink-flower-closeup.jpg", "green-grass-texture.png"]
    # Without words the hybrid ranking is the meaning ranking, and it keeps the semantic answer.
    for text in ("a cat", "a rocket launch", "a cup of coffee"):
        assert names(search(searcher, text), paths) == names(search(searcher, text, mode="vector"), paths)


def test_negative_parts_push_keyword_hits_away_too(creative):
    """A keyword hit that looks like what the query pushes away, or holds its words, is no hit."""
    searcher, paths = creative
    assert names(search(searcher, "purrfectbite"), paths)[0] == "tabby-cat-chelsea.png"
    assert "tabby-cat-chelsea.png" not in names(search(searcher, "purrfectbite | -a cat"), paths)
    assert search(searcher, "lumina | -spring", mode="keyword").hits == []


def test_words_most_documents_hold_are_left_out_when_rarer_ones_remain(creative, monkeypatch):
    """On 18 assets every word is rare; with the threshold lowered, "lumina" (2 of 18) counts as
    common: next to "x200" (1 of 18) it is left out; alone, keyword mode keeps it and hybrid mode
    ranks by meaning."""
    from search import engine

    searcher, paths = creative
    assert searcher.catalog.word_document_counts(["lumina", "x200", "zebra"]) == {"lumina": 2, "x200": 1, "zebra": 0}
    monkeypatch.setattr(engine, "COMMON_WORD_MIN", 1)
    assert names(search(searcher, "lumina x200", mode="keyword"), paths) == ["cameraman-with-tripod-camera.png"]
    assert set(names(search(searcher, "lumina", mode="keyword"), paths)) == LUMINA
    assert search(searcher, "lumina").weak_matches  # hybrid: a common word alone leaves the meaning
    assert set(names(search(searcher, '"lumina" x200', mode="keyword"), paths)) == LUMINA  # a phrase stays required


def test_hybrid_pages_neither_overlap_nor_lose_results(creative):
    searcher, paths = creative
    seen, offset = [], 0
    while True:
        result = search(searcher, "lumina sale", include_all=True, limit=5, offset=offset)
        seen += names(result, paths)
        offset += 5
        if not result.has_more:
            break
    assert len(seen) == len(set(seen)) == 18
    assert set(seen[:3]) == {"pink-flower-closeup.jpg", "green-grass-texture.png", "gravel-stones-texture.png"}


def test_weak_matches_and_filters_work_in_hybrid_mode(creative):
    searcher, paths = creative
    weak = search(searcher, "a submarine under ice")
    assert weak.weak_matches and len(weak.hits) == 5
    landscape = search(searcher, "lumina", filters=Filters(orientation="landscape"))
    assert names(landscape, paths) == ["pink-flower-closeup.jpg"]


def test_quoted_phrases_are_requirements_in_every_mode(creative):
    searcher, paths = creative
    for mode in ("vector", "keyword", "hybrid"):
        assert names(search(searcher, '"summer sale" stones', mode=mode), paths) == ["gravel-stones-texture.png"], mode
        assert search(searcher, '"sale summer"', mode=mode).hits == [], mode
    # A weak answer holds the phrase too, and the model reads the words without the quotes.
    assert names(search(searcher, 'a submarine "grand opening"', mode="vector"), paths) == ["brick-wall-texture.png"]


LUMINA = {"pink-flower-closeup.jpg", "green-grass-texture.png"}
PURR = {"tabby-cat-chelsea.png"}


@pytest.mark.parametrize(("text", "holding"), [
    ('"', None), ('""', None), ('*', None), ('purrfectbite*', PURR), ('NEAR(purrfectbite lumina, 1)', PURR | LUMINA),
    ('purrfectbite OR *', PURR), ('name:lumina', LUMINA), ('{name folder}: lumina', LUMINA), ('^lumina', LUMINA),
    ('lumina NOT purrfectbite', LUMINA | PURR), ('lumina AND', LUMINA), ('(((lumina', LUMINA), ('lumina"', LUMINA),
    ("l'umina", set()), ('x200 -- DROP TABLE assets', {"cameraman-with-tripod-camera.png"}),
    ('\\"lumina\\"', LUMINA), ('\u0000lumina', LUMINA), ('lumina + purrfectbite', LUMINA | PURR),
])
def test_fts_syntax_in_user_text_never_errors_and_never_widens(creative, text, holding):
    """FTS5 operators, column filters and quotes in user text are words (or nothing): the keyword
    hits are exactly the assets holding one of the text's words, and no text is an error."""
    searcher, paths = creative
    result = search(searcher, text, include_all=True, limit=50)
    quoted_words = text.count('"') >= 2 and holding  # a "quoted" word is a requirement, backslash or not
    assert len(result.hits) == (len(holding) if quoted_words else 18)
    if holding is None:  # no words at all: hybrid ranks by meaning, keyword mode says why it cannot
        assert result.mode == "vector"
        with pytest.raises(QueryError):
            search(searcher, text, mode="keyword")
    else:
        assert set(names(search(searcher, text, mode="keyword", limit=50), paths)) == holding


def test_keyword_mode_without_words_says_so(creative):
    searcher, _ = creative
    with pytest.raises(QueryError, match="needs words"):
        search(searcher, "*", mode="keyword")
    with pytest.raises(QueryError, match="Unknown search mode"):
        search(searcher, "lumina", mode="fuzzy")


def test_query_by_example_stays_pure_meaning(creative):
    searcher, paths = creative
    cat = next(path for path, name in paths.items() if name == "tabby-cat-chelsea.png")
    asset_id = searcher.catalog.asset_by_path(cat).id
    alone = searcher.search(Query(examples=(Example(asset_id=asset_id),), mode="hybrid", limit=3))
    assert alone.mode == "vector" and names(alone, paths)[0] == "tabby-cat-chelsea.png"
    both = searcher.search(Query(parts=parse_text("lumina"), examples=(Example(asset_id=asset_id),), mode="hybrid"))
    assert both.mode == "hybrid" and {"pink-flower-closeup.jpg", "green-grass-texture.png"} <= set(names(both, paths))


def test_text_rendered_into_a_photo_is_read_by_ocr_and_found(tmp_path, offline_encoder):
    """The whole way: a headline printed into a licensed photo, the real OCR pass, a search."""
    root = tmp_path / "shoot"
    root.mkdir()
    from PIL import Image

    render_sign(Image.open(SAMPLE_PHOTOS / "pink-flower-closeup.jpg"), "SPRING GALA").save(root / "IMG_7001.jpg")
    Image.open(SAMPLE_PHOTOS / "tabby-cat-chelsea.png").save(root / "IMG_7002.png")
    library = Library.create_or_open(tmp_path / "lib")
    passes = ocr_passes(library, IndexSettings())
    library, _ = index_folder(tmp_path / "lib", [root], offline_encoder, passes=passes)
    hits = Searcher(library, offline_encoder).search(Query(parts=parse_text("gala"), mode="keyword")).hits
    assert [Path(h.asset.path).name for h in hits] == ["IMG_7001.jpg"]
    assert hits[0].keywords[0].field == "ocr" and "[GALA]" in hits[0].keywords[0].snippet


# -- the edges: command line, HTTP, web page ------------------------------------------------------

def test_the_mode_switch_on_the_command_line(creative):
    from tests.api.test_cli import scout

    searcher, paths = creative
    library = searcher.library.path
    hybrid = json.loads(scout("search", "purrfectbite", "--library", library, "--json", check=0).stdout)
    assert paths[hybrid[0]["path"]] == "tabby-cat-chelsea.png"
    assert hybrid[0]["keywords"] == [{"field": "name", "terms": ["purrfectbite"], "snippet": ""}]
    assert hybrid[0]["why"].startswith("meaning ") and "name: purrfectbite" in hybrid[0]["why"]
    vector = json.loads(scout("search", "purrfectbite", "--library", library, "--json", "--mode", "vector",
                              check=0).stdout)
    assert all(not hit["keywords"] for hit in vector) and paths[vector[0]["path"]] != "tabby-cat-chelsea.png"
    printed = json.loads(scout("search", "grand opening", "--library", library, "--mode", "keyword", "--json",
                               check=0).stdout)
    assert printed[0]["why"].endswith("ocr: grand, opening “[GRAND] [OPENING]”")
    piped = scout("search", "grand opening", "--library", library, check=0).stdout  # for scripts: the path last
    assert paths[piped.splitlines()[0].split("\t")[-1]] == "brick-wall-texture.png"
    wrong = scout("search", "lumina", "--library", library, "--mode", "fuzzy", check=2)
    assert "Unknown search mode 'fuzzy'" in wrong.stderr and "Traceback" not in wrong.stderr


@pytest.fixture(scope="module")
def creative_server(creative, offline_encoder):
    from tests.api.conftest import serve

    searcher, _ = creative
    with serve(searcher.library.path, offline_encoder) as server:
        yield server


def test_the_mode_switch_over_http(creative, creative_server):
    _, paths = creative
    with creative_server.client() as client:
        answer = client.get("/api/search", params={"q": "grand opening"}).json()
        assert answer["mode"] == "hybrid" and paths[answer["results"][0]["asset"]["path"]] == "brick-wall-texture.png"
        assert answer["results"][0]["keywords"][0] == {"field": "ocr", "terms": ["grand", "opening"],
                                                       "snippet": "[GRAND] [OPENING]"}
        vector = client.get("/api/search", params={"q": "grand opening", "mode": "vector"}).json()
        assert vector["mode"] == "vector" and all(not hit["keywords"] for hit in vector["results"])
        assert client.get("/api/search", params={"q": "lumina", "mode": "fuzzy"}).status_code == 422
        empty = client.get("/api/search", params={"q": "*", "mode": "keyword"})
        assert empty.status_code == 400 and "needs words" in empty.json()["error"]


def test_the_mode_selector_and_why_line_in_the_web_page(creative, creative_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    from tests.browser import wait

    _, paths = creative

    def first_card(driver):
        cards = driver.find_elements(By.CSS_SELECTOR, ".card")
        return (paths.get(cards[0].get_attribute("data-path")), cards[0].find_element(By.CSS_SELECTOR, ".why")
                .get_attribute("textContent")) if cards else (None, "")

    browser.get(creative_server.url)
    wait(browser).until(EC.element_to_be_clickable((By.ID, "q"))).send_keys("purrfectbite")
    wait(browser).until(lambda d: first_card(d)[0] == "tabby-cat-chelsea.png")
    assert "name: purrfectbite" in first_card(browser)[1]
    browser.find_element(By.CSS_SELECTOR, '#f-mode [data-value="vector"]').click()
    wait(browser).until(lambda d: first_card(d)[0] not in (None, "tabby-cat-chelsea.png"))
    assert "name:" not in first_card(browser)[1] and first_card(browser)[1].startswith("meaning")
    browser.find_element(By.CSS_SELECTOR, '#f-mode [data-value="keyword"]').click()
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("lumina")
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) == 2)
    assert "folder: lumina" in first_card(browser)[1]
    box.clear()
    box.send_keys("zebra")
    wait(browser).until(lambda d: "holds these words" in d.find_element(By.ID, "state").text)
