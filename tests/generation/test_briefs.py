"""Loading and validating briefs: YAML, JSON, CSV batches, and errors that say where and what."""

from __future__ import annotations

import json
import os

import pytest

from generation.briefs import Brief, generation_prompt, load_briefs, parse_briefs
from indexer.errors import ConfigError
from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "briefs"


def test_the_shipped_examples_are_valid():
    loaded = {path.name: load_briefs(path) for path in sorted(EXAMPLES.iterdir())}
    assert {name: ([b.id for b in batch.briefs], batch.errors) for name, batch in loaded.items()} == {
        "autumn-batch.csv": (["kyoto-temples-autumn", "santorini-sunset"], []),
        "space-coast.json": (["florida-space-coast"], []),
        "spring-campaign.yaml": (["beijing-summer-palace", "lisbon-tram-sunset", "vienna-coffee-house"], []),
    }
    kyoto = loaded["autumn-batch.csv"].briefs[0]
    assert kyoto.selling_points == ["ancient temples", "a palace garden"]
    assert kyoto.formats == ["1080x1080", "1200x628"] and kyoto.candidates == 1


def test_defaults_and_normalised_formats():
    brief = Brief(id="a", subject=" Lisbon ", formats=["1080X1920", "1200×628"])
    assert brief.subject == "Lisbon"
    assert brief.formats == ["1080x1920", "1200x628"]
    assert (brief.candidates, brief.language, brief.selling_points) == (3, "en", [])


def test_csv_list_cells_split_on_semicolons_and_newlines(tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text('id,subject,selling_points,must_avoid\n'
                    'porto,Porto riverside,"port wine cellars\nazulejo facades",crowds; rain\n')
    brief = load_briefs(path).briefs[0]
    assert brief.selling_points == ["port wine cellars", "azulejo facades"]
    assert brief.must_avoid == ["crowds", "rain"]


def test_one_bad_brief_never_stops_the_others(tmp_path):
    path = tmp_path / "batch.yaml"
    path.write_text(
        "- {id: good, subject: Lisbon}\n"
        "- {id: typo, subject: Porto, selling_point: [wine]}\n"
        "- {id: empty, subject: '   '}\n"
        "- {id: sizes, subject: Faro, formats: [1080by1080, 10x10, 1080x99999]}\n"
        "- {id: many, subject: Sintra, candidates: 21}\n"
        "- {id: none, subject: Evora, candidates: 0}\n"
        "- {id: good, subject: Lisbon again}\n"
        "- {subject: no id}\n"
        "- {id: lang, subject: Braga, language: 'english please'}\n"
        "- just a string\n"
    )
    batch = load_briefs(path)
    assert [b.id for b in batch.briefs] == ["good"]
    problems = {(e.brief, e.field): e.message for e in batch.errors}
    assert all(e.source == str(path) for e in batch.errors)
    assert "unknown field" in problems[("brief 2 (id typo)", "selling_point")]
    assert "selling_points" in problems[("brief 2 (id typo)", "selling_point")]  # names the right spelling
    assert ("brief 3 (id empty)", "subject") in problems
    assert "WIDTHxHEIGHT" in problems[("brief 4 (id sizes)", "formats")]
    assert ("brief 5 (id many)", "candidates") in problems and ("brief 6 (id none)", "candidates") in problems
    assert "duplicate id 'good'" in problems[("brief 7 (id good)", "id")]
    assert ("brief 8", "id") in problems
    assert ("brief 9 (id lang)", "language") in problems
    assert "mapping" in problems[("brief 10", "")]
    assert str(batch.errors[0]).startswith(f"{path}, brief 2 (id typo), field 'selling_point':")


def test_out_of_bounds_format_is_named(tmp_path):
    batch = parse_briefs({"id": "x", "subject": "y", "formats": ["8x8"]}, "request")
    assert "between 16 and 4096" in batch.errors[0].message


def test_csv_errors_name_the_row(tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text("id,subject,candidates\nok,Lisbon,2\nbad,Porto,lots\n,Faro,1\n")
    batch = load_briefs(path)
    assert [b.id for b in batch.briefs] == ["ok"]
    assert [(e.brief, e.field) for e in batch.errors] == [("row 3 (id bad)", "candidates"), ("row 4", "id")]


@pytest.mark.parametrize("name, text, expected", [
    ("missing.yaml", None, "does not exist"),
    ("broken.yaml", "- {id: a, subject: [unclosed\n", "not valid YAML"),
    ("broken.json", '{"id": "a",', "not valid JSON"),
    ("brief.txt", "id: a", "unknown type"),
    ("empty.json", "[]", "holds no briefs"),
    ("header.csv", "id,subject\n", "no briefs"),
])
def test_unreadable_files_are_config_errors(tmp_path, name, text, expected):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_briefs(path)


def test_json_batch_wrapped_in_briefs_key(tmp_path):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"briefs": [{"id": "a", "subject": "Lisbon"}, {"id": "b", "subject": "Porto"}]}))
    assert [b.id for b in load_briefs(path).briefs] == ["a", "b"]


def test_content_hash_follows_content_only():
    brief = Brief(id="a", subject="Lisbon", selling_points=["trams"])
    assert brief.content_hash() == Brief(id="a", subject="Lisbon ", selling_points=["trams"]).content_hash()
    assert brief.content_hash() != Brief(id="a", subject="Lisbon", selling_points=["trams", "fado"]).content_hash()


def test_generation_prompt_uses_the_brief_and_negates_must_avoid():
    brief = Brief(id="a", subject="a yellow tram in Lisbon", must_show=["tram 28"], tone="nostalgic",
                  must_avoid=["cars", "graffiti"])
    prompt, negative = generation_prompt(brief)
    assert prompt.startswith("Advertising photograph of a yellow tram in Lisbon, showing tram 28")
    assert "nostalgic mood" in prompt and "cars" not in prompt
    assert negative.startswith("cars, graffiti")
    assert generation_prompt(brief) == (prompt, negative)


def test_brief_ids_cannot_name_paths():
    batch = parse_briefs([{"id": "../etc", "subject": "x"}, {"id": "a/b", "subject": "x"}])
    assert not batch.briefs and {e.field for e in batch.errors} == {"id"}


def test_a_brief_cannot_ask_for_unbounded_work():
    many = {"id": "x", "subject": "y", "selling_points": [f"point {i}" for i in range(21)],
            "formats": ["1080x1080"] * 9, "tone": "t" * 301}
    problems = {e.field for e in parse_briefs(many, "request").errors}
    assert {"selling_points", "formats", "tone"} <= problems
    huge = parse_briefs({"id": "x", "subject": "y", "formats": ["8192x8192"]}, "request")
    assert "between 16 and 4096" in huge.errors[0].message


def test_special_and_hostile_files_are_clear_errors(tmp_path):
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "folder.yaml").mkdir()
    for name, words in (("fifo.yaml", "not a regular file"), ("zero.yaml", "not a regular file"),
                        ("folder.yaml", "not a regular file"), ("deep.json", "nested too deeply")):
        with pytest.raises(ConfigError, match=words):
            load_briefs(tmp_path / name)
