"""The policy file: the shipped GARM floor, a client's own, and every mistake named by its field path."""

from __future__ import annotations

import pytest

from indexer.errors import ConfigError
from indexer.safety.policy import default_policy_text, load_policy, parse_policy

GARM = {"adult", "arms", "crime", "death_injury", "piracy", "hate", "obscenity", "drugs", "tobacco", "alcohol",
        "spam", "terrorism", "social_issues", "misinformation"}


def test_the_default_policy_covers_the_garm_categories_with_risk_levels():
    policy = load_policy()
    assert GARM <= set(policy.categories)
    assert policy.categories["adult"].risk == "floor" and policy.categories["adult"].verdict == "block"
    assert {rule.name for rule in policy.rules} >= {"alcohol-or-gambling-with-minors", "weapons-with-children-or-schools",
                                                   "disaster-with-upbeat-copy"}


def test_a_clients_policy_file_is_loaded_and_its_edit_changes_the_stamp(tmp_path):
    beer = default_policy_text().replace("version: garm-floor-1", "version: beer-brand").replace(
        "    label: Alcohol\n    risk: low", "    label: Alcohol\n    risk: allowed")
    path = tmp_path / "beer.yaml"
    path.write_text(beer)
    policy = load_policy(path)
    assert policy.categories["alcohol"].risk == "allowed"
    assert policy.stamp != load_policy().stamp and policy.stamp.startswith("beer-brand@")


@pytest.mark.parametrize("edit, where", [
    (("risk: floor", "risk: sometimes"), "categories.adult.risk"),
    (("image: 0.2 ", "image: 7 "), "thresholds.image"),
    (("    verdict: block\n    reason: a weapon", "    verdict: maybe\n    reason: a weapon"), "rules.1.verdict"),
    (("categories: [arms]", "categories: [swords]"), "rules.1.categories"),
    (("version: garm-floor-1", "version: ../../etc"), "version"),
    (("  adult:\n    label:", "  adult:\n    colour: red\n    label:"), "categories.adult.colour"),
])
def test_mistakes_are_config_errors_naming_the_field(tmp_path, edit, where):
    text = default_policy_text()
    assert edit[0] in text
    with pytest.raises(ConfigError) as caught:
        parse_policy(text.replace(edit[0], edit[1], 1), "client.yaml")
    assert where in caught.value.message and "client.yaml" in caught.value.message


@pytest.mark.parametrize("content, says", [("version: [unclosed", "not valid YAML"), ("- a list", "mapping"),
                                           ("", "mapping")])
def test_files_that_are_not_policies_are_refused_clearly(tmp_path, content, says):
    path = tmp_path / "p.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=says):
        load_policy(path)
    with pytest.raises(ConfigError, match="not a file"):
        load_policy(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_policy(tmp_path / "bin.yaml")
