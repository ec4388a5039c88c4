"""The JSON rule language: validation messages, evaluation and the built-in segments."""

from datetime import UTC, datetime, timedelta

import pytest

from personalization.segmentation.rules import (
    BUILTIN_RULES,
    EvaluationContext,
    RuleError,
    compile,
    parse_window,
    validate,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PRODUCTS = {
    "tv": {"price": 900.0, "price_percentile": 95, "category": "electronics", "on_sale": False},
    "phone": {"price": 700.0, "price_percentile": 90, "category": "electronics", "on_sale": False},
    "socks": {"price": 5.0, "price_percentile": 3, "category": "fashion", "on_sale": True},
    "scarf": {"price": 15.0, "price_percentile": 20, "category": "fashion", "on_sale": True},
    "mug": {"price": 8.0, "price_percentile": 10, "category": "home", "on_sale": True},
}


def event(name, minutes_ago, product_id=None, session_id="s1", **properties):
    return {
        "name": name,
        "timestamp": NOW - timedelta(minutes=minutes_ago),
        "product_id": product_id,
        "session_id": session_id,
        "properties": properties,
    }


def context(events=(), profile=None, session=None):
    return EvaluationContext(
        profile=profile or {"sessions": 4},
        events=list(events),
        products=PRODUCTS,
        session=session or {"id": "s1"},
        now=NOW,
    )


def holds(rule, ctx):
    return compile(rule)(ctx)


# Validation ---------------------------------------------------------------------------------


def test_valid_rules_have_no_errors():
    assert validate({"all": []}) == []
    assert validate({"not": {"attr": "monetary", "op": ">=", "value": 500}}) == []
    assert (
        validate(
            {
                "events": {
                    "name": ["add_to_cart", "wishlist_add"],
                    "within": "7d",
                    "in_session": True,
                    "product": {"category": "electronics", "price_percentile": {">=": 80}},
                    "properties": {"quantity": {">": 1}},
                },
                "sum": {"property": "price", ">=": 200, "<": 5000},
            }
        )
        == []
    )
    for name, rule in BUILTIN_RULES.items():
        assert validate(rule) == [], name


def test_errors_name_their_json_path():
    rule = {
        "all": [
            {"attr": "monetary", "op": ">=", "value": 1},
            {"attr": "monetary", "op": "=>", "value": 500},
        ]
    }
    assert validate(rule) == [
        '$.all[1].op: unknown operator "=>"; expected one of "==", "!=", ">", ">=", "<", "<=", '
        '"in", "not_in", "contains", "exists"'
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ([], "$: expected an object, got list"),
        (
            {},
            '$: expected exactly one of "all", "any", "not", "attr", "events", "session"; '
            "found nothing",
        ),
        ({"all": [], "any": []}, "$: expected exactly one of"),
        ({"all": {"attr": "x"}}, "$.all: expected a list of rules"),
        ({"not": [1]}, "$.not: expected an object, got list"),
        ({"attr": "x", "value": 1}, '$: missing "op"'),
        ({"attr": "x", "op": ">"}, '$.value: missing the value of ">"'),
        ({"attr": "x", "op": "in", "value": "abc"}, '$.value: "in" takes a list'),
        ({"attr": "x", "op": "exists", "value": 1}, '$.value: "exists" takes true or false'),
        ({"attr": "x", "op": ">", "value": [1]}, '$.value: ">" takes a number or a text'),
        ({"attr": "", "op": "==", "value": 1}, "$.attr: expected an attribute name"),
        ({"attr": "x", "op": "==", "value": 1, "extra": 2}, '$: unknown key "extra"'),
        ({"events": {"name": "a"}}, '$: expected exactly one of "count" and "sum"'),
        ({"events": {"within": "7d"}, "count": {">=": 1}}, "$.events.name: expected an event"),
        (
            {"events": {"name": "a", "within": "7 days"}, "count": {">=": 1}},
            "$.events.within: invalid window '7 days'",
        ),
        (
            {"events": {"name": "a", "within": "0m"}, "count": {">=": 1}},
            "$.events.within: invalid window '0m'",
        ),
        (
            {"events": {"name": "a", "in_session": "yes"}, "count": {">=": 1}},
            "$.events.in_session: expected true or false",
        ),
        (
            {"events": {"name": "a", "colour": "red"}, "count": {">=": 1}},
            '$.events: unknown key "colour"',
        ),
        (
            {"events": {"name": "a", "product": {"price": {"~": 1}}}, "count": {">=": 1}},
            '$.events.product.price: unknown operator "~"',
        ),
        ({"events": {"name": "a"}, "count": {">=": "two"}}, "$.count.>=: a count compares"),
        ({"events": {"name": "a"}, "count": {}}, "$.count: expected at least one operator"),
        ({"events": {"name": "a"}, "count": 2}, "$.count: expected an object of operators"),
        ({"events": {"name": "a"}, "sum": {">=": 1}}, "$.sum.property: expected the name"),
        ({"session": {}}, "$.session: expected an object of attribute conditions"),
    ],
)
def test_error_messages(rule, message):
    errors = validate(rule)
    assert errors, rule
    assert errors[0].startswith(message), errors


def test_compile_refuses_invalid_rules_with_every_error():
    with pytest.raises(RuleError) as caught:
        compile({"any": [{"attr": "x", "op": "?", "value": 1}, {"not": 3}]})
    assert len(caught.value.errors) == 2
    assert "$.any[1].not" in str(caught.value)


def test_parse_window():
    assert parse_window("45s") == 45
    assert parse_window("30m") == 1800
    assert parse_window("2h") == 7200
    assert parse_window("7d") == 604800
    with pytest.raises(ValueError):
        parse_window("7w")


# Evaluation ---------------------------------------------------------------------------------


def test_attribute_operators_and_missing_values():
    ctx = context(profile={"monetary": 500, "tier": "gold", "tags": ["vip"], "email": None})
    assert holds({"attr": "monetary", "op": ">=", "value": 500}, ctx)
    assert not holds({"attr": "monetary", "op": ">", "value": 500}, ctx)
    assert holds({"attr": "tier", "op": "in", "value": ["gold", "silver"]}, ctx)
    assert holds({"attr": "tier", "op": "not_in", "value": ["bronze"]}, ctx)
    assert holds({"attr": "tags", "op": "contains", "value": "vip"}, ctx)
    assert holds({"attr": "tier", "op": "!=", "value": "bronze"}, ctx)
    # A missing (or null) value fails comparisons, also "!=", but "exists": false holds.
    assert not holds({"attr": "age", "op": "!=", "value": 3}, ctx)
    assert not holds({"attr": "age", "op": "<", "value": 3}, ctx)
    assert holds({"attr": "age", "op": "exists", "value": False}, ctx)
    assert holds({"attr": "email", "op": "exists", "value": False}, ctx)
    assert holds({"attr": "monetary", "op": "exists", "value": True}, ctx)
    # Incompatible types fail instead of raising.
    assert not holds({"attr": "tier", "op": ">", "value": 3}, ctx)


def test_boolean_nodes():
    ctx = context(profile={"a": 1})
    yes, no = {"attr": "a", "op": "==", "value": 1}, {"attr": "a", "op": "==", "value": 2}
    assert holds({"all": [yes, yes]}, ctx)
    assert not holds({"all": [yes, no]}, ctx)
    assert holds({"any": [no, yes]}, ctx)
    assert not holds({"any": [no, no]}, ctx)
    assert holds({"not": no}, ctx)
    assert holds({"all": []}, ctx)
    assert not holds({"any": []}, ctx)


def test_event_counts_in_windows_sessions_and_product_conditions():
    ctx = context(
        [
            event("add_to_cart", 5, "tv"),
            event("add_to_cart", 20, "socks"),
            event("add_to_cart", 45, "phone"),
            event("add_to_cart", 60 * 24 * 3, "phone", session_id="old"),
            event("product_view", 1, "mug"),
            event("add_to_cart", -10, "tv"),  # after "now": ignored
        ]
    )

    def count(event_filter):
        return [n for n in range(6) if holds({"events": event_filter, "count": {"==": n}}, ctx)][0]

    assert count({"name": "add_to_cart"}) == 4
    assert count({"name": "add_to_cart", "within": "30m"}) == 2
    assert count({"name": "add_to_cart", "within": "1h"}) == 3
    assert count({"name": "add_to_cart", "in_session": True}) == 3
    assert count({"name": ["add_to_cart", "product_view"], "within": "30m"}) == 3
    assert count({"name": "add_to_cart", "product": {"price_percentile": {">=": 80}}}) == 3
    assert count({"name": "add_to_cart", "product": {"category": "fashion"}}) == 1
    assert count({"name": "add_to_cart", "product": {"category": {"in": ["home", "fashion"]}}}) == 1
    assert count({"name": "purchase"}) == 0


def test_event_sums_use_event_properties_then_product_attributes():
    ctx = context(
        [
            event("add_to_cart", 1, "tv", price=850.0),  # the event's own price wins
            event("add_to_cart", 2, "socks"),  # falls back to the catalogue price, 5
            event("add_to_cart", 3, "unknown"),  # neither: adds nothing
            event("add_to_cart", 4, "mug", price="n/a"),  # not a number: adds nothing
        ]
    )
    rule = {"events": {"name": "add_to_cart"}, "sum": {"property": "price", "==": 855.0}}
    assert holds(rule, ctx)
    assert holds({"events": {"name": "add_to_cart"}, "sum": {"property": "price", ">=": 200}}, ctx)
    props = {
        "events": {"name": "add_to_cart", "properties": {"price": {">": 100}}},
        "count": {"==": 1},
    }
    assert holds(props, ctx)


def test_session_conditions():
    ctx = context(session={"id": "s1", "landing_path": "/sale/summer", "device": "mobile"})
    assert holds({"session": {"device": "mobile"}}, ctx)
    assert holds({"session": {"landing_path": {"contains": "/sale"}, "device": "mobile"}}, ctx)
    assert not holds({"session": {"device": "desktop"}}, ctx)
    assert not holds({"session": {"utm_campaign": "spring"}}, ctx)


def test_product_lookup_by_function_is_called_once_per_product():
    calls = []

    def lookup(product_id):
        calls.append(product_id)
        return PRODUCTS.get(product_id)

    ctx = EvaluationContext(
        events=[event("product_view", m, "tv") for m in range(5)], products=lookup, now=NOW
    )
    rule = {
        "events": {"name": "product_view", "product": {"category": "electronics"}},
        "count": {">=": 5},
    }
    predicate = compile(rule)
    assert predicate(ctx)
    assert predicate(ctx)
    assert calls == ["tv"]


def test_epoch_timestamps_and_default_now():
    now = NOW.timestamp()
    ctx = EvaluationContext(
        events=[{"name": "search", "timestamp": now - 30}, {"name": "search", "timestamp": now}],
        now=now,
    )
    assert holds({"events": {"name": "search", "within": "45s"}, "count": {"==": 2}}, ctx)
    assert holds({"events": {"name": "search", "within": "10s"}, "count": {"==": 1}}, ctx)
    empty = EvaluationContext()
    assert holds({"events": {"name": "search"}, "count": {"==": 0}}, empty)


# Built-in segments --------------------------------------------------------------------------


def builtin(name, ctx):
    return compile(BUILTIN_RULES[name])(ctx)


def test_high_intent_shoppers():
    two_expensive = [event("add_to_cart", 3, "tv"), event("add_to_cart", 12, "phone")]
    assert builtin("high-intent-shoppers", context(two_expensive))
    one_cheap = [event("add_to_cart", 3, "tv"), event("add_to_cart", 12, "socks")]
    assert not builtin("high-intent-shoppers", context(one_cheap))
    too_slow = [event("add_to_cart", 3, "tv"), event("add_to_cart", 40, "phone")]
    assert not builtin("high-intent-shoppers", context(too_slow))


def test_bargain_hunters():
    sale_browsing = [
        event("product_view", m, p) for m, p in ((1, "socks"), (2, "mug"), (3, "scarf"))
    ]
    assert builtin("bargain-hunters", context(sale_browsing))
    earlier_session = [event("product_view", m, "socks", session_id="old") for m in (100, 101, 102)]
    assert not builtin("bargain-hunters", context(earlier_session))
    assert builtin("bargain-hunters", context(session={"id": "s1", "landing_path": "/sale/"}))
    assert builtin("bargain-hunters", context(profile={"price_sensitivity": 0.7}))
    assert not builtin("bargain-hunters", context(profile={"price_sensitivity": 0.2}))


def test_cart_abandoners():
    abandoned = [event("product_view", 200, "tv"), event("add_to_cart", 180, "tv")]
    assert builtin("cart-abandoners", context(abandoned))
    bought = [*abandoned, event("purchase", 170)]
    assert not builtin("cart-abandoners", context(bought))
    still_shopping = [*abandoned, event("add_to_cart", 10, "mug")]
    assert not builtin("cart-abandoners", context(still_shopping))
    long_ago = [event("add_to_cart", 60 * 24 * 8, "tv")]
    assert not builtin("cart-abandoners", context(long_ago))


def test_window_shoppers():
    views = [event("product_view", 60 * m, "mug") for m in range(12)]
    assert builtin("window-shoppers", context(views))
    assert not builtin("window-shoppers", context(views[:9]))
    assert not builtin("window-shoppers", context([*views, event("add_to_cart", 1, "mug")]))


def test_new_visitors():
    assert builtin("new-visitors", context(profile={"sessions": 1}))
    assert builtin("new-visitors", EvaluationContext(now=NOW))
    assert not builtin("new-visitors", context(profile={"sessions": 2}))
