"""Property-based fuzzing of the query parser: whatever a user types, Scout answers with a result
or with one of its own errors (message + hint), never a traceback, never a silent nothing."""

from __future__ import annotations

import math
import sqlite3

from hypothesis import HealthCheck, example, given, settings, strategies as st

from indexer.errors import ScoutError
from search.query import ORIENTATIONS, Filters, Query, normalize_format, parse_text, split_formats

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# Pieces that mean something to the parser, and numbers that break naive float handling.
_NUMBERS = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e309", "0", "-0", "0.0", "+1", "1.", ".5", "9" * 400, "1_000", "²", "١"]),
)
_TOKENS = st.one_of(
    st.sampled_from(["|", ":", "-", " ", "--", "::", "\x00", "\n", "\t", "\u202e", "\ufeff", "%", "_", "\\", "'", '"']),
    _NUMBERS,
    st.text(max_size=12),
)
QUERY_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(_TOKENS, max_size=30).map("".join),
    st.lists(st.tuples(st.text(max_size=10), _NUMBERS), max_size=8).map(
        lambda parts: " | ".join(f"{text}:{number}" for text, number in parts)),
)


def _parse_or_scout_error(text: str, minus=()):
    try:
        return parse_text(text, minus)
    except ScoutError as error:
        assert error.message.strip(), "a Scout error must say what went wrong"
        return None


@FUZZ
@given(text=QUERY_TEXT, minus=st.lists(st.text(max_size=20), max_size=3))
def test_parse_text_raises_only_scout_errors_and_keeps_the_structure(text, minus):
    parts = _parse_or_scout_error(text, minus)
    if parts is None:
        return
    pieces = [p for p in text.split("|") if p.strip()]
    assert len(parts) <= len(pieces) + len(minus)
    for part in parts:
        assert part.text and part.text == part.text.strip()
    assert parse_text(text, minus) == parts  # deterministic


@FUZZ
@given(text=QUERY_TEXT)
def test_a_query_is_built_or_refused_with_a_scout_error(text):
    parts = _parse_or_scout_error(text)
    if parts is None:
        return
    try:
        query = Query(parts=parts)
    except ScoutError:
        return
    assert any(part.weight > 0 for part in query.parts)


@FUZZ
@example("cat:" + "9" * 400)
@given(text=QUERY_TEXT)
def test_every_parsed_weight_is_finite(text):
    parts = _parse_or_scout_error(text)
    for part in parts or ():
        assert math.isfinite(part.weight), part


_BIG_INTS = st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70))
_FILTERS = st.fixed_dictionaries({
    "folder": st.one_of(st.none(), st.text(max_size=30)),
    "orientation": st.one_of(st.none(), st.sampled_from(ORIENTATIONS), st.text(max_size=10)),
    "min_width": _BIG_INTS,
    "min_height": _BIG_INTS,
    "formats": st.lists(st.text(max_size=8), max_size=4).map(tuple),
})


def _catalog_shape() -> sqlite3.Connection:
    """The two tables a filter clause reads, with one row, so the WHERE clause really runs."""
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE contents (hash TEXT, width INTEGER, height INTEGER, format TEXT);"
        "CREATE TABLE assets (id INTEGER, hash TEXT, folder TEXT);"
        "INSERT INTO contents VALUES ('h', 640, 480, 'JPEG');"
        "INSERT INTO assets VALUES (1, 'h', '/photos/a');")
    return db


@FUZZ
@example({"folder": None, "orientation": None, "min_width": 2**64, "min_height": None, "formats": ()})
@example({"folder": "/photos/a'; DROP TABLE assets; --", "orientation": None, "min_width": None,
          "min_height": None, "formats": ("jpeg') OR 1=1 --",)})
@given(kwargs=_FILTERS)
def test_filters_are_refused_or_give_runnable_sql(kwargs):
    """Huge numbers are refused; folder and format strings (quotes, %, _, backslashes, NULs) stay
    data: the clause runs and matches the one row or nothing."""
    try:
        filters = Filters(**kwargs)
    except ScoutError:
        return
    clause, params = filters.sql()
    assert clause.count("?") == len(params)
    with _catalog_shape() as db:
        rows = db.execute(f"SELECT a.id FROM assets a JOIN contents c ON c.hash = a.hash WHERE {clause}",
                          params).fetchall()
    assert rows in ([], [(1,)])


@FUZZ
@given(values=st.lists(st.text(max_size=20), max_size=5))
def test_format_lists_split_into_clean_names(values):
    for name in split_formats(values):
        assert name and "," not in name
        assert isinstance(normalize_format(name), str)


@FUZZ
@given(limit=st.integers(min_value=-(2**70), max_value=2**70), offset=st.integers(min_value=-(2**70), max_value=2**70),
       min_score=st.one_of(st.none(), st.floats()), min_relevance=st.one_of(st.none(), st.floats()))
def test_paging_out_of_range_is_a_query_error(limit, offset, min_score, min_relevance):
    try:
        query = Query(parts=parse_text("a cat"), limit=limit, offset=offset,
                      min_score=min_score, min_relevance=min_relevance)
    except ScoutError:
        return
    assert 1 <= query.limit <= 1000 and 0 <= query.offset <= 100_000


@FUZZ
@example(float("nan"), None)
@given(min_score=st.one_of(st.none(), st.floats()), min_relevance=st.one_of(st.none(), st.floats()))
def test_score_floors_that_are_not_numbers_are_refused(min_score, min_relevance):
    try:
        query = Query(parts=parse_text("a cat"), min_score=min_score, min_relevance=min_relevance)
    except ScoutError:
        return
    for floor in (query.min_score, query.min_relevance):
        assert floor is None or math.isfinite(floor)
