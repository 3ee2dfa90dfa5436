"""Word lists against the ways people dodge them: leetspeak, spacing, masks, look-alike letters."""

from __future__ import annotations

import pytest

from indexer.safety.words import WordList, fold

WORDS = WordList([("drugs", "cocaine", False), ("drugs", "crystal meth", False), ("drugs", "meth", False),
                  ("obscenity", "shit", False), ("obscenity", "ass", False), ("alcohol", "happy hour", False),
                  ("death", "killer", True), ("arms", "gun", False)])


def found(text: str) -> list[tuple[str, str]]:
    return [(hit.key, hit.word) for hit in WORDS.find(text)]


@pytest.mark.parametrize("text", [
    "Buy cocaine", "buy COCAINE", "buy c0ca1ne", "buy c o c a i n e", "buy c.o.c.a.i.n.e", "buy c*caine",
    "buy сосаinе",  # Cyrillic с, о, а, е
    "buy ｃｏｃａｉｎｅ",  # fullwidth
    "buy cocaíne", "buy co\u200bcaine",  # an accent, a zero-width space
])
def test_obfuscated_spellings_are_found(text):
    assert found(text) == [("drugs", "cocaine")]


@pytest.mark.parametrize("text", ["classic glass", "the gunner", "methodology", "passage", "Shitake"])
def test_words_inside_other_words_are_not(text):
    assert found(text) == []


def test_the_longest_listed_phrase_wins_and_phrases_span_separators():
    assert found("crystal  meth sold here") == [("drugs", "crystal meth")]
    assert found("Happy-Hour from 5") == [("alcohol", "happy hour")]
    assert found("sh!t") == [("obscenity", "shit")]


def test_hits_say_what_was_written_and_whether_the_word_is_ambiguous():
    (hit,) = WORDS.find("Killer deals today")
    assert hit.found == "killer" and hit.ambiguous and hit.key == "death"


def test_fold_maps_look_alikes_but_keeps_digits():
    assert fold("Ρаypаl 2024") == "paypal 2024"
