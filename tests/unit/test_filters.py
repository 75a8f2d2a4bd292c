import pytest

from ragtune.errors import RagtuneError
from ragtune.stores.chroma import to_where
from ragtune.stores.filters import Condition, date_ordinal, is_date, parse_filter, parse_filters


@pytest.mark.parametrize("expr, expected", [
    ("category=billing", Condition("category", "=", "billing")),
    ("category = billing", Condition("category", "=", "billing")),
    ("category!=billing", Condition("category", "!=", "billing")),
    ("year>=2024", Condition("year", ">=", 2024)),
    ("year > 2024", Condition("year", ">", 2024)),
    ("score<0.5", Condition("score", "<", 0.5)),
    ("score<=-1.25", Condition("score", "<=", -1.25)),
    ("draft=true", Condition("draft", "=", True)),
    ("draft=False", Condition("draft", "=", False)),
    ("updated>=2024-01-31", Condition("updated", ">=", "2024-01-31")),
    ("updated<2024-01-31T10:00:00", Condition("updated", "<", "2024-01-31T10:00:00")),
    ("source.kind=pdf", Condition("source.kind", "=", "pdf")),
    ("my-key=a b", Condition("my-key", "=", "a b")),
])
def test_parse_single_conditions(expr, expected):
    assert parse_filter(expr) == expected


def test_in_list_parses_each_value_and_skips_blanks():
    assert parse_filter("category in billing, api,,ops") == Condition("category", "in", ("billing", "api", "ops"))
    assert parse_filter("year in 2023,2024") == Condition("year", "in", (2023, 2024))
    assert parse_filter("draft in true,false") == Condition("draft", "in", (True, False))


def test_in_list_of_ints_and_floats_becomes_floats():
    c = parse_filter("score in 1, 2.5")
    assert c == Condition("score", "in", (1.0, 2.5)) and all(isinstance(v, float) for v in c.value)


def test_in_list_may_mix_text_and_numbers():
    c = parse_filter("tag in 1, a, 2.5")
    assert c == Condition("tag", "in", (1.0, "a", 2.5))


@pytest.mark.parametrize("expr", ["flag in true,1", "flag in 2.5,false"])
def test_in_list_mixing_booleans_and_numbers_is_an_error(expr):
    # a store compares one type per list: this used to fail deep inside Chroma with a traceback
    with pytest.raises(RagtuneError, match="cannot mix true/false with numbers"):
        parse_filter(expr)


def test_parse_filters_ands_a_list_and_accepts_none():
    assert parse_filters(None) == []
    assert parse_filters(["a=1", "b in x,y"]) == [Condition("a", "=", 1), Condition("b", "in", ("x", "y"))]


@pytest.mark.parametrize("expr", ["category", "=billing", "category~billing", "", "a b=c", "category in"])
def test_bad_syntax_is_a_clear_error(expr):
    with pytest.raises(RagtuneError, match="cannot parse filter"):
        parse_filter(expr)


def test_missing_value_is_an_error():
    with pytest.raises(RagtuneError, match="no value"):
        parse_filter("category=")


@pytest.mark.parametrize("expr", ["category>=billing", "draft<true", "updated>31/01/2024"])
def test_range_on_non_number_non_date_is_an_error(expr):
    with pytest.raises(RagtuneError, match="compares numbers or ISO dates"):
        parse_filter(expr)


def test_empty_in_list_is_an_error():
    with pytest.raises(RagtuneError, match="no values"):
        parse_filter("category in , ,")


def test_dates():
    assert is_date("2024-02-29") and is_date("2024-02-29T12:00:00")
    assert not is_date("20240229") and not is_date(2024) and not is_date("Feb 2024")
    assert date_ordinal("2024-02-29T12:00:00") == 20240229
    # the integer twin orders exactly like the dates do
    dates = ["2023-12-31", "2024-01-01", "2024-01-10", "2024-10-01", "1999-05-05"]
    assert sorted(dates) == sorted(dates, key=date_ordinal)


def test_to_where_translation():
    assert to_where([]) is None
    assert to_where(parse_filters(["category=billing"])) == {"category": {"$eq": "billing"}}
    assert to_where(parse_filters(["category!=billing"])) == {"category": {"$ne": "billing"}}
    assert to_where(parse_filters(["year>2023"])) == {"year": {"$gt": 2023}}
    assert to_where(parse_filters(["year<=2023"])) == {"year": {"$lte": 2023}}
    assert to_where(parse_filters(["category in a,b"])) == {"category": {"$in": ["a", "b"]}}
    assert to_where(parse_filters(["year>=2023", "category=api"])) == {
        "$and": [{"year": {"$gte": 2023}}, {"category": {"$eq": "api"}}]}


def test_to_where_range_on_dates_uses_the_integer_twin():
    assert to_where(parse_filters(["updated>=2024-01-31"])) == {"updated__date": {"$gte": 20240131}}
    assert to_where(parse_filters(["updated<2024-02-01T08:00:00"])) == {"updated__date": {"$lt": 20240201}}
    # equality on a date compares the stored ISO string itself
    assert to_where(parse_filters(["updated=2024-01-31"])) == {"updated": {"$eq": "2024-01-31"}}
