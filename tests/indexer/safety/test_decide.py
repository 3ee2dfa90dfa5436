"""The four decisions over the same signals: where only the joint one gets the relation right."""

from __future__ import annotations

import pytest

from indexer.safety import Signal, decide, load_policy


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def word(key, ambiguous=False):
    return Signal(key, "words", 1.0, ambiguous, {"word": key})


def picture(key, score):
    return Signal(key, "image", score, evidence={"prompt": f"a photo of {key}"})


def sentence(key, score):
    return Signal(key, "text", score)


def test_beer_copy_on_a_school_picture_is_blocked_only_by_the_joint_decision(policy):
    signals = [word("alcohol"), picture("school", 0.6), picture("minors", 0.6)]
    assert decide(policy, signals, "text").verdict == "safe"  # alcohol alone is low risk
    assert decide(policy, signals, "image").verdict == "safe"  # a school is not unsafe
    assert decide(policy, signals, "late").verdict == "safe"
    joint = decide(policy, signals, "joint")
    assert joint.verdict == "block"
    reason = next(r for r in joint.reasons if r.key == "alcohol-or-gambling-with-minors")
    assert {s.source for s in reason.signals} == {"words", "image"}


def test_a_killer_deal_on_a_harmless_picture_is_safe_jointly(policy):
    signals = [word("death_injury", ambiguous=True), sentence("death_injury", 0.2), picture("death_injury", 0.01)]
    assert decide(policy, signals, "text").verdict == "review"
    assert decide(policy, signals, "late").verdict == "review"
    assert decide(policy, signals, "joint").verdict == "safe"


def test_an_ambiguous_word_counts_when_the_picture_agrees(policy):
    wary = policy.model_copy(update={"thresholds": policy.thresholds.model_copy(update={"image": 0.5})})
    signals = [word("arms", ambiguous=True), picture("arms", 0.3)]  # "shoot" next to something gun-like
    assert decide(wary, signals, "image").verdict == "safe"  # under the image threshold alone
    assert decide(wary, signals, "text").verdict == "block"  # (text alone flags every ambiguous word)
    assert decide(wary, signals, "joint").verdict == "block"
    assert decide(wary, [word("arms", ambiguous=True), picture("arms", 0.05)], "joint").verdict == "safe"


def test_disaster_imagery_with_upbeat_copy_needs_the_picture_side(policy):
    upbeat_picture = [picture("death_injury", 0.9), word("upbeat")]
    assert decide(policy, upbeat_picture, "joint").verdict == "block"
    assert decide(policy, upbeat_picture, "late").verdict == "review"
    # The same category read in the words, with upbeat copy, is not that rule's case.
    words_only = [word("death_injury"), word("upbeat")]
    assert decide(policy, words_only, "joint").verdict == "review"


def test_a_floor_category_blocks_in_every_mode_that_sees_it(policy):
    assert decide(policy, [word("drugs")], "text").verdict == "block"
    assert decide(policy, [Signal("adult", "nudity", 0.9, evidence={"box": [1, 2, 3, 4]})], "image").verdict == "block"
    assert decide(policy, [Signal("adult", "nudity", 0.3)], "image").verdict == "safe"  # under the detector floor
