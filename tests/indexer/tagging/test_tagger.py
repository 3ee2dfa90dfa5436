"""Zero-shot tagging on a real library: what gets suggested, incrementality, exclusivity, and
people's decisions outliving re-tags and model changes."""

from __future__ import annotations

import pytest
import yaml

from indexer.errors import ConfigError
from indexer.pipeline import IndexRun, reembed
from indexer.tagging.review import TagDesk
from indexer.tagging.tagger import Tagger
from indexer.tagging.taxonomy import load_taxonomy
from search import tags as tag_reads
from tests.conftest import SAMPLE_PHOTOS, index_folder, write_images
from tests.indexer.tagging.conftest import asset_named


def waiting(library, **filters) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for s in tag_reads.review_queue(library, limit=500, **filters):
        found.setdefault(s.asset.id, set()).add(s.tag)
    return found


def test_clear_subjects_get_their_tag_first(tagged_library):
    queue = waiting(tagged_library)
    assert "cat" in queue[asset_named(tagged_library, "tabby-cat-chelsea.png")]
    assert "coffee" in queue[asset_named(tagged_library, "cup-of-coffee-on-saucer.png")]
    assert "rocket" in queue[asset_named(tagged_library, "spacex-rocket-launch.jpg")]
    top = tag_reads.review_queue(tagged_library, tag="cat", limit=1)
    assert top[0].asset.name == "tabby-cat-chelsea.png" and top[0].path == ("nature", "cat")


def test_an_unchanged_re_tag_scores_nothing_and_an_index_run_tags_only_what_it_added(tagged_library,
                                                                                    offline_encoder, tmp_path):
    tagger = Tagger(tagged_library, offline_encoder)
    assert tagger.run(load_taxonomy()).scored == 0
    write_images(tmp_path / "photos", 1, start=50)
    result = IndexRun(tagged_library, offline_encoder).run([tmp_path / "photos"])
    assert (result.tags.total, result.tags.scored) == (1, 1)
    assert tagger.run(load_taxonomy()).scored == 0


def test_an_index_run_of_an_untagged_library_does_no_tagging(tmp_path, offline_encoder):
    library, result = index_folder(tmp_path / "lib", [SAMPLE_PHOTOS], offline_encoder)
    assert result.tags is None and library.catalog.untagged_count("any") == 18


def test_a_changed_prompt_re_scores_and_replaces_only_suggestions(tagged_library, offline_encoder, tmp_path):
    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    coffee = asset_named(tagged_library, "cup-of-coffee-on-saucer.png")
    TagDesk(tagged_library).decide([(coffee, "coffee", "accepted")], "ana")
    data = yaml.safe_load(load_taxonomy().model_dump_json())
    for tag in data["tags"]:
        if tag["name"] == "cat":
            tag["prompts"] = ["a photo of a bicycle"]  # a deliberately bad edit
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data))
    stats = Tagger(tagged_library, offline_encoder).run(load_taxonomy(path))
    assert stats.scored == 18
    assert "cat" not in waiting(tagged_library).get(cat, set())
    assert [(t.tag, t.status) for t in tag_reads.asset_tags(tagged_library, coffee)][0] == ("coffee", "accepted")


def test_a_rejected_suggestion_never_comes_back_and_decisions_survive_a_model_change(
        tagged_library, offline_encoder, tiny_encoder):
    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    coffee = asset_named(tagged_library, "cup-of-coffee-on-saucer.png")
    desk = TagDesk(tagged_library)
    assert desk.decide([(cat, "cat", "rejected"), (coffee, "coffee", "accepted")], "ana") == 2
    assert "cat" not in waiting(tagged_library).get(cat, set())
    Tagger(tagged_library, offline_encoder).run(load_taxonomy())
    assert "cat" not in waiting(tagged_library).get(cat, set())

    reembed(tagged_library, tiny_encoder)
    Tagger(tagged_library, tiny_encoder).run(load_taxonomy())
    assert tagged_library.model_id == tiny_encoder.model_id
    statuses = {(t.tag, t.status) for t in tag_reads.asset_tags(tagged_library, cat)}
    assert ("cat", "rejected") in statuses and ("cat", "suggested") not in statuses
    assert ("coffee", "accepted") in {(t.tag, t.status) for t in tag_reads.asset_tags(tagged_library, coffee)}


def test_an_exclusive_group_suggests_one_tag_per_asset(tagged_library):
    groups = {t.name: t.group for t in load_taxonomy().tags}
    for tags in waiting(tagged_library).values():
        grouped = [groups[t] for t in tags if groups[t]]
        assert len(grouped) == len(set(grouped)), tags


def test_thresholds_set_for_another_model_are_refused(tagged_library, offline_encoder, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "model": "open_clip:ViT-B-32@laion2b_s34b_b79k",
                                    "tags": [{"name": "cat", "prompts": ["a cat"], "threshold": 5.0}]}))
    with pytest.raises(ConfigError, match="thresholds were set for model"):
        Tagger(tagged_library, offline_encoder).run(load_taxonomy(path))


def test_a_taxonomy_threshold_applies_to_its_model_and_a_calibrated_one_outranks_it(tagged_library, offline_encoder,
                                                                                    tmp_path):
    data = yaml.safe_load(load_taxonomy().model_dump_json())
    data["model"] = offline_encoder.model_id
    for tag in data["tags"]:
        if tag["name"] == "cat":
            tag["threshold"] = 40.0  # nothing is that confident
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(data))
    Tagger(tagged_library, offline_encoder).run(load_taxonomy(path))
    assert tag_reads.review_queue(tagged_library, tag="cat") == []
    tagged_library.catalog.set_tag_thresholds(offline_encoder.model_id, [
        __import__("indexer.catalog.tags", fromlist=["ThresholdRow"]).ThresholdRow("cat", 2.0, "calibrated", 1.0, 1.0, 9)])
    Tagger(tagged_library, offline_encoder).run(load_taxonomy(path))
    assert [s.asset.name for s in tag_reads.review_queue(tagged_library, tag="cat")][:1] == ["tabby-cat-chelsea.png"]


def test_unknown_tags_and_decisions_are_refused_whole(tagged_library):
    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    desk = TagDesk(tagged_library)
    with pytest.raises(ConfigError, match="'kat' is not a tag") as error:
        desk.decide([(cat, "cat", "accepted"), (cat, "kat", "accepted")])
    assert "cat" in error.value.hint
    with pytest.raises(ConfigError, match="Unknown decision"):
        desk.decide([(cat, "cat", "maybe")])
    assert {t.status for t in tag_reads.asset_tags(tagged_library, cat)} == {"suggested"}


def test_accepted_tags_are_filters_and_searchable_words(tagged_library, offline_encoder):
    from search.engine import Searcher
    from search.query import Filters, Query, parse_text

    cat = asset_named(tagged_library, "tabby-cat-chelsea.png")
    coffee = asset_named(tagged_library, "cup-of-coffee-on-saucer.png")
    searcher = Searcher(tagged_library, offline_encoder)

    def ids(query: Query) -> list[int]:
        return [h.asset.id for h in searcher.search(query).hits]

    assert ids(Query(parts=parse_text("a photo"), include_all=True, filters=Filters(tags=("cat",)))) == [cat]
    assert ids(Query(parts=parse_text("luxury"), mode="keyword")) == []
    TagDesk(tagged_library).decide([(cat, "cat", "rejected"), (coffee, "cat", "accepted"),
                                    (coffee, "luxury", "accepted")], "ana")
    assert ids(Query(parts=parse_text("a photo"), include_all=True, filters=Filters(tags=("cat",)))) == [coffee]
    assert ids(Query(parts=parse_text("luxury"), mode="keyword")) == [coffee]  # accepted tags are words
    both = Filters(tags=("cat", "coffee"))
    assert ids(Query(parts=parse_text("a photo"), include_all=True, filters=both)) == [coffee]
