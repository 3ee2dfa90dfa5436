from __future__ import annotations

import pytest

from indexer.errors import QueryError
from search.query import Example, Filters, Part, Query, parse_text


def test_plain_sentence_with_commas_is_one_part():
    assert parse_text("sunlit beach, families, warm tone") == (Part("sunlit beach, families, warm tone", 1.0),)


def test_weights_and_negatives():
    assert parse_text("beach:2 | warm tone:0.5 | -people") == (
        Part("beach", 2.0), Part("warm tone", 0.5), Part("people", -1.0))


def test_minus_flag_adds_negative_parts():
    assert parse_text("beach", minus=["crowds"]) == (Part("beach", 1.0), Part("crowds", -1.0))


def test_colon_inside_text_is_not_a_weight():
    assert parse_text("ratio 16:9 poster")[0].text == "ratio 16:9 poster"


@pytest.mark.parametrize("text", ["-people", "", "   |  "])
def test_query_needs_something_positive(text):
    with pytest.raises(QueryError):
        Query(parts=parse_text(text))


def test_examples_alone_are_a_query():
    assert Query(examples=(Example("12"),)).examples[0].ref == "12"


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": 5000}, {"offset": -1}])
def test_absurd_paging_is_rejected(kwargs):
    with pytest.raises(QueryError):
        Query(parts=parse_text("x"), **kwargs)


def test_unknown_orientation_is_rejected():
    with pytest.raises(QueryError):
        Filters(orientation="diagonal")


def test_format_aliases():
    where, params = Filters(formats=("jpg", "TIF")).sql()
    assert params == ["JPEG", "TIFF"]
