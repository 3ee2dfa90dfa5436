"""Taxonomy files: the starter loads, and every mistake is named with its place in the file."""

from __future__ import annotations

import pytest
import yaml

from indexer.errors import ConfigError
from indexer.tagging.taxonomy import load_taxonomy


def write(tmp_path, data) -> object:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_the_starter_taxonomy_covers_the_travel_and_advertising_headings():
    taxonomy = load_taxonomy()
    headings = {t.name for t in taxonomy.tags if t.parent is None}
    assert {"scene", "landmark", "season", "weather", "time of day", "people", "activity", "mood",
            "food and drink", "transport", "product"} <= headings
    assert all(len(t.prompts) >= 3 for t in taxonomy.scored_tags)
    assert taxonomy.path("sunset") == ["time of day", "sunset"]
    assert taxonomy.tag("sunset").group == taxonomy.tag("night").group  # one time of day at most


@pytest.mark.parametrize("tags, message", [
    ([{"name": "beach", "prompts": ["a beach"]}, {"name": "beach", "prompts": ["sand"]}], "duplicate tag names: beach"),
    ([{"name": "beach", "parent": "scene", "prompts": ["a beach"]}], "parent 'scene', which is not a tag"),
    ([{"name": "a", "parent": "b", "prompts": ["x"]}, {"name": "b", "parent": "a"}], "own ancestor"),
    ([{"name": "beach", "prompt": ["a beach"]}], "tags[0] (beach).prompt: unknown field"),
    ([{"name": "Beach!", "prompts": ["a beach"]}], "must be lower-case"),
    ([{"name": "scene"}], "no tag has prompts"),
    ([{"name": "beach", "prompts": ["a beach"], "threshold": "high"}], "tags[0] (beach).threshold"),
])
def test_a_bad_taxonomy_names_the_tag_and_field(tmp_path, tags, message):
    with pytest.raises(ConfigError) as error:
        load_taxonomy(write(tmp_path, {"name": "t", "tags": tags}))
    assert message in error.value.message
    assert str(tmp_path / "taxonomy.yaml") in error.value.message


def test_unreadable_taxonomies_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="No taxonomy file"):
        load_taxonomy(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_taxonomy(write(tmp_path, "tags: [unclosed"))
    with pytest.raises(ConfigError, match="mapping with a 'tags' list"):
        load_taxonomy(write(tmp_path, "- just a list"))


def test_the_version_follows_prompts_not_thresholds(tmp_path):
    base = {"name": "t", "tags": [{"name": "beach", "prompts": ["a beach"], "threshold": 2.0}]}
    first = load_taxonomy(write(tmp_path, base)).version
    base["tags"][0]["threshold"] = 4.0
    assert load_taxonomy(write(tmp_path, base)).version == first
    base["tags"][0]["prompts"].append("sand and sea")
    assert load_taxonomy(write(tmp_path, base)).version != first
