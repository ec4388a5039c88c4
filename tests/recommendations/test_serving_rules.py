"""The serve-time business rules (personalization.recsys.rules): each rule on its own."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from personalization.recsys import rules


@dataclass(frozen=True)
class P:
    id: str
    category: str = "mugs"
    brand: str = ""
    tags: tuple[str, ...] = ()
    published: bool = True
    in_stock: bool = True
    on_sale: bool = False


def catalogue(*products: P) -> dict[str, P]:
    return {p.id: p for p in products}


def ids(ranking: list) -> list:
    return [item for item, _ in ranking]


def test_blend_fuses_ranks_with_weights() -> None:
    first = [("a", 9.0), ("b", 5.0)]
    second = [("c", 0.9), ("a", 0.1)]
    assert ids(rules.blend([(first, 1.0), (second, 1.0)])) == ["a", "c", "b"]
    # A heavier list puts its first item first.
    third = [("d", 1.0)]
    assert ids(rules.blend([(first, 1.0), (third, 1.0)])) == ["a", "d", "b"]
    assert ids(rules.blend([(first, 1.0), (third, 2.0)])) == ["d", "a", "b"]
    assert rules.blend([(first, 0.0)]) == []


def test_drop_excluded_removes_ids_and_duplicates() -> None:
    ranking = [("a", 3.0), ("b", 2.0), ("a", 1.0), ("c", 0.5)]
    assert ids(rules.drop_excluded(ranking, {"b"})) == ["a", "c"]


def test_drop_unavailable() -> None:
    products = catalogue(P("a"), P("b", published=False), P("c", in_stock=False), P("d"))
    ranking = [("a", 4.0), ("b", 3.0), ("c", 2.0), ("x", 1.5), ("d", 1.0)]
    assert ids(rules.drop_unavailable(ranking, products)) == ["a", "d"]


def test_segment_boosts_merge_and_apply() -> None:
    config = {"bargain-hunters": {"on_sale": 2.0}, "tea-lovers": {"tag:Tea": 3.0}, "x": {}}
    assert rules.segment_boosts(None, config) == {}
    assert rules.segment_boosts({"bargain-hunters", "tea-lovers", "unknown"}, config) == {
        "on_sale": 2.0,
        "tag:Tea": 3.0,
    }
    products = catalogue(P("a"), P("b", on_sale=True), P("c", tags=("tea",)))
    ranking = [("a", 1.0), ("b", 0.8), ("c", 0.5)]
    boosted = rules.apply_boosts(ranking, products, {"on_sale": 2.0, "tag:Tea": 3.0})
    assert boosted == [("b", 1.6), ("c", 1.5), ("a", 1.0)]
    assert rules.apply_boosts(ranking, products, {}) == ranking


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("category:MUGS", True),
        ("category:bowls", False),
        ("brand:brewco", True),
        ("tag:ceramic", True),
        ("tag:glass", False),
        ("on_sale", True),
        ("in_stock", True),
        ("published", True),
        ("nonexistent", False),
        ("colour:red", False),
    ],
)
def test_boost_conditions(condition: str, expected: bool) -> None:
    product = P("a", brand="Brewco", tags=("ceramic",), on_sale=True)
    assert rules.matches(product, condition) is expected


def test_cap_per_category() -> None:
    products = catalogue(P("a"), P("b"), P("c"), P("d", category="bowls"), P("e", category=""))
    ranking = [("a", 5.0), ("b", 4.0), ("c", 3.0), ("d", 2.0), ("e", 1.0)]
    assert ids(rules.cap_per_category(ranking, products, 2, 10)) == ["a", "b", "d", "e"]
    assert ids(rules.cap_per_category(ranking, products, None, 3)) == ["a", "b", "c"]
    assert ids(rules.cap_per_category(ranking, products, 2, 2)) == ["a", "b"]


def test_mmr_trades_relevance_for_variety() -> None:
    products = catalogue(P("a"), P("b"), P("c", category="bowls"))
    ranking = [("a", 1.0), ("b", 0.9), ("c", 0.5)]
    assert ids(rules.mmr(ranking, products, 1.0, 3)) == ["a", "b", "c"]
    assert ids(rules.mmr(ranking, products, 0.3, 3)) == ["a", "c", "b"]
    assert rules.mmr(ranking, products, 0.3, 3)[1] == ("c", 0.5)  # original scores kept
    with pytest.raises(ValueError, match="lambda"):
        rules.mmr(ranking, products, 1.5, 3)


def test_apply_rules_in_order() -> None:
    products = catalogue(
        P("a"),
        P("b", in_stock=False),
        P("c", on_sale=True),
        P("d"),
        P("e"),
        P("f", category="bowls"),
    )
    ranking = [("a", 6.0), ("b", 5.0), ("c", 4.0), ("d", 3.5), ("e", 3.0), ("f", 1.0)]
    chosen = rules.apply_rules(
        ranking,
        products,
        k=3,
        excluded={"a"},
        boosts={"on_sale": 10.0},
        max_per_category=2,
    )
    assert ids(chosen) == ["c", "d", "f"]
