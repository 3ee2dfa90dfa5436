from __future__ import annotations

import pytest

from indexer.errors import QueryError
from search.query import Example, Filters, Part, Query, example_from_ref, parse_asset_id, parse_text


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
    assert Query(examples=(Example(asset_id=12),)).examples[0].asset_id == 12


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


def test_filters_refuse_sizes_no_image_has():
    with pytest.raises(QueryError, match="min_width must be between"):
        Filters(min_width=2**63)


@pytest.mark.parametrize("text, words", [
    ("cat:" + "9" * 400, "too large"),
    ("cat:1000", "too large"),
    (" | ".join(f"thing {i}" for i in range(40)), "at most 16 text parts"),
    ("a" * 2001, "2001 characters"),
])
def test_oversized_queries_are_refused_not_answered_with_nothing(text, words):
    with pytest.raises(QueryError, match=words):
        Query(parts=parse_text(text))


def test_unknown_formats_and_nan_floors_are_errors():
    with pytest.raises(QueryError, match="Unknown image format: 'bogus'"):
        Filters(formats=("jpeg", "bogus"))
    for name in ("min_score", "min_relevance"):
        with pytest.raises(QueryError, match="finite"):
            Query(parts=parse_text("cat"), **{name: float("nan")})
    assert Filters(formats=("jpg", "pnm", "heic", "dng")).sql()[1] == ["JPEG", "PPM", "HEIF", "RAW"]


@pytest.mark.parametrize("ref", ["9223372036854775808", "18446744073709551616", "0", "²", "١٢", "-3"])
def test_asset_ids_outside_sqlite_or_ascii_are_query_errors(ref):
    with pytest.raises(QueryError, match="not an asset id"):
        example_from_ref(ref, allow_paths=False)
    with pytest.raises(QueryError):
        parse_asset_id(ref)


def test_paths_are_examples_on_the_command_line_only():
    assert example_from_ref("photo.jpg", allow_paths=True) == Example(path="photo.jpg")
    assert example_from_ref(" 42 ", allow_paths=False) == Example(asset_id=42)
    with pytest.raises(QueryError, match="Over HTTP, examples are asset ids"):
        example_from_ref("/etc/shadow", allow_paths=False)


def test_capture_ranges_at_the_ends_of_the_calendar_are_answered_not_crashed():
    from search.query import parse_capture_range

    assert parse_capture_range("0001-01-01", "9999-12-31")[1] is None  # to the last day: no upper bound
    start, end = parse_capture_range("2021-06-01", "2021-06-01")
    assert end - start == 86_400
    with pytest.raises(QueryError, match="not a date"):
        parse_capture_range("2021-13-45", None)
    with pytest.raises(QueryError, match="is empty"):
        parse_capture_range("2021-06-02", "2021-06-01")
