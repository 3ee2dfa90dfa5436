"""What a query asks of the keyword index: user text turned into a safe FTS5 MATCH expression.

FTS5 has a query language of its own (``OR``, ``NOT``, ``NEAR(...)``, ``name:`` column filters,
``*`` prefixes, ``^`` anchors, quotes). Text from a user is never handed to it: it is cut into
words (runs of letters and digits, the same characters the ``unicode61`` tokenizer keeps) and
each word goes in double-quoted, so ``NEAR(`` or ``name:x`` are just the words "near" and
"name" "x", and no input can make a MATCH fail or widen it beyond its own words.

* Plain words are alternatives (``"summer" OR "sale"``): bm25 ranks documents holding more of
  them, and rarer ones, first. A handful of English function words ("a", "of", "the"...) are
  left out: they would match most text read in images and carry no meaning of their own.
* The last word also matches as a prefix (``"launc"*``) when it has at least
  ``PREFIX_MIN_CHARS`` characters, so the web page's search-as-you-type finds "launch" at
  "launc" (on the keyword set as typed: first result right for 8 of 8 queries, 5 of 8 without);
  earlier words are whole words, since a prefix on every word widens a query a lot and costs
  more (BENCHMARKS.md "Hybrid search").
* ``"quoted phrases"`` are requirements: every result holds each phrase, words adjacent and in
  order, in one field. Search modes apply them alike (the vector ranking too).
* Only positive query parts give words to look for. The words of a ``-negative`` part exclude:
  a document holding one is not a keyword hit (``excluded``); the search engine also drops
  keyword hits that clearly *look like* a negative part (search.engine). Example images give none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.catalog.words import WORD_RUN
from search.query import Part

# Per-field bm25 weights, in the column order of asset_words (name, folder, keywords, ocr, tags).
# A judgement (equal weights scored the same on the labelled sets of benchmarks/hybrid.py): a
# word in the file name or the embedded keywords says more about the picture than one among the
# folders or read in it.
FIELD_WEIGHTS = (4.0, 2.0, 3.0, 1.5, 3.0)
FIELDS = ("name", "folder", "keywords", "ocr", "tags")
PREFIX_MIN_CHARS = 3
MAX_WORDS = 32  # words beyond these add little to a ranking and cost a term each
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it of on or the to with".split())

_PHRASE = re.compile(r'"([^"]*)"')


def words(text: str) -> list[str]:
    """Lower-case words of ``text``, as the keyword index's tokenizer would cut them."""
    return WORD_RUN.findall(text.lower())


@dataclass(frozen=True)
class KeywordQuery:
    terms: tuple[str, ...] = ()  # alternatives, ranked by bm25
    phrases: tuple[tuple[str, ...], ...] = ()  # required, each a run of words
    prefix_last: bool = True
    excluded: tuple[str, ...] = ()  # words of negative parts: a document holding one is no hit

    @property
    def empty(self) -> bool:
        return not self.terms and not self.phrases

    def match(self) -> str:
        """The FTS5 expression ranking documents: any term or phrase word. Every token is a quoted
        run of letters and digits, so this string can hold no FTS5 operator of the user's."""
        tokens = [_quoted((t,)) for t in self.terms] + [_quoted(p) for p in self.phrases]
        if self.prefix_last and self.terms and len(self.terms[-1]) >= PREFIX_MIN_CHARS:
            tokens[len(self.terms) - 1] += "*"
        expression = " OR ".join(tokens)
        if self.excluded:
            unwanted = " OR ".join(_quoted((t,)) for t in self.excluded)
            expression = f"({expression}) NOT ({unwanted})"
        return expression

    def requirement(self) -> str | None:
        """The FTS5 expression every result must satisfy (all phrases), None without phrases."""
        return " AND ".join(_quoted(p) for p in self.phrases) or None


def _quoted(phrase: tuple[str, ...]) -> str:
    return '"' + " ".join(phrase) + '"'


def keyword_query(parts: tuple[Part, ...], *, prefix_last: bool = True) -> KeywordQuery:
    """The words and phrases of a query's positive parts. An unpaired ``"`` is ignored."""
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    for part in parts:
        if part.weight <= 0:
            excluded += [w for w in words(part.text) if w not in STOP_WORDS]
            continue
        for phrase in _PHRASE.findall(part.text):
            if found := tuple(words(phrase)):
                phrases.append(found)
        terms += [w for w in words(_PHRASE.sub(" ", part.text)) if w not in STOP_WORDS]
    return KeywordQuery(tuple(dict.fromkeys(terms))[:MAX_WORDS], tuple(dict.fromkeys(phrases))[:MAX_WORDS],
                        prefix_last, tuple(dict.fromkeys(excluded))[:MAX_WORDS])


def embedding_text(text: str) -> str:
    """A part's text as the model should read it: without the phrase quotes."""
    return " ".join(text.replace('"', " ").split()) if '"' in text else text


@dataclass(frozen=True)
class FieldMatch:
    """Where a keyword hit matched: the field, the words found there and, for text fields
    (embedded keywords, OCR), a snippet with each found word in [brackets]."""

    field: str
    terms: tuple[str, ...]
    snippet: str = ""


SNIPPET_FIELDS = frozenset({"keywords", "ocr"})
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"  # private-use marks, replaced before anything is shown
_MARKED = re.compile(f"{MARK_OPEN}(.*?){MARK_CLOSE}", re.S)


def field_matches(highlighted: dict[str, str], snippets: dict[str, str]) -> tuple[FieldMatch, ...]:
    """FieldMatches from FTS5 ``highlight()`` output per field (marked with ``MARK_OPEN`` /
    ``MARK_CLOSE``) and ``snippet()`` output for the text fields."""
    found = []
    for name in FIELDS:
        terms = tuple(dict.fromkeys(t.lower() for t in _MARKED.findall(highlighted.get(name) or "")))
        if terms:
            snippet = snippets.get(name, "") if name in SNIPPET_FIELDS else ""
            snippet = " ".join(snippet.replace(MARK_OPEN, "[").replace(MARK_CLOSE, "]").split())
            found.append(FieldMatch(name, terms, snippet))
    return tuple(found)
