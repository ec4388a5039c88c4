"""The JSON rule language of rule-based segments: validation, compilation and evaluation.

>>> rule = {"all": [{"attr": "monetary", "op": ">=", "value": 500},
...                 {"events": {"name": "add_to_cart", "within": "7d"}, "count": {">=": 2}}]}
>>> validate(rule)
[]
>>> predicate = compile(rule)
>>> predicate(EvaluationContext(profile={"monetary": 800}))
False

Grammar (also in ``docs/segments.md``)
--------------------------------------
A rule is one JSON object, one of:

``{"all": [rule, ...]}`` / ``{"any": [rule, ...]}`` / ``{"not": rule}``
    AND, OR and NOT. ``all`` of an empty list is true, ``any`` of an empty list is false.

``{"attr": NAME, "op": OP, "value": VALUE}``
    A profile attribute (``recency_days``, ``monetary``, ``sessions``, ``propensity``, ...).

``{"events": FILTER, "count": COMPARISON}`` or ``{"events": FILTER, "sum": {"property": P, ...}}``
    The number of matching recent events, or the sum of their property ``P`` (an event property,
    else the product's attribute of that name; events without it add nothing), compared.
    ``FILTER`` keys: ``name`` (a name or a list of names, required), ``within`` (a window such as
    ``"45s"``, ``"30m"``, ``"2h"``, ``"7d"``; default: every event in the context),
    ``in_session`` (``true``: only events of the current session), ``product`` (conditions on the
    event's product) and ``properties`` (conditions on the event's properties).

``{"session": CONDITIONS}``
    Conditions on the current session's attributes (``id``, ``page_views``, ``utm_campaign``,
    ``device``, ``landing_path``, ... whatever the caller puts in the context).

``COMPARISON`` is an object of one or more ``OP: VALUE`` pairs, all of which must hold
(``{">=": 2, "<": 5}``). ``CONDITIONS`` (of ``product``, ``properties`` and ``session``) map
attribute names to a ``COMPARISON`` or to a plain value meaning equality
(``{"category": "electronics", "price_percentile": {">=": 80}}``).

Operators: ``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in`` and ``not_in`` (the value is a
list), ``contains`` (a substring or a list member) and ``exists`` (the value is ``true`` or
``false``). A missing attribute fails every comparison except ``exists: false``; so does a
comparison between incompatible types (a text with a number).

Evaluation
----------
:func:`compile` validates once and returns a closure over plain Python values: evaluating it
walks no JSON. :class:`EvaluationContext` holds plain data (a profile dict, recent events as dicts
with ``name``, ``timestamp`` (a datetime or epoch seconds), ``product_id``, ``session_id`` and
``properties``, a product lookup (a mapping or a function from product id to an attribute dict,
e.g. ``{"price": 120, "price_percentile": 92, "category": "electronics", "on_sale": False}``), the
current session's attributes (with ``id``) and ``now``); it converts the event times once, so one
context can be evaluated against many rules.
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "BUILTIN_RULES",
    "OPERATORS",
    "EvaluationContext",
    "RuleError",
    "compile",
    "parse_window",
    "validate",
]

Predicate = Callable[["EvaluationContext"], bool]

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BOOLEAN_KEYS = ("all", "any", "not")
_EVENT_FILTER_KEYS = ("name", "within", "in_session", "product", "properties")


def _contains(container: Any, item: Any) -> bool:
    return item in container


def _in(item: Any, container: Any) -> bool:
    return item in container


def _not_in(item: Any, container: Any) -> bool:
    return item not in container


#: Operator name → function of (attribute value, rule value); ``exists`` is handled apart.
OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "in": _in,
    "not_in": _not_in,
    "contains": _contains,
}
_ALL_OPERATORS = (*OPERATORS, "exists")
_EXPECTED_OPERATORS = ", ".join(f'"{name}"' for name in _ALL_OPERATORS)
_MISSING = object()


class RuleError(ValueError):
    """A rule that does not validate; ``errors`` lists every problem with its JSON path."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_window(text: str) -> int:
    """Seconds of a window such as ``"30m"`` or ``"7d"``."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"invalid window {text!r}; expected a positive number and s, m, h or d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class EvaluationContext:
    """Everything a rule may look at, as plain data (see the module docstring)."""

    __slots__ = ("events", "now", "profile", "session", "times", "_lookup", "_products")

    def __init__(
        self,
        profile: Mapping[str, Any] | None = None,
        events: Sequence[Mapping[str, Any]] = (),
        products: Mapping[Any, Mapping[str, Any]] | Callable[[Any], Mapping | None] | None = None,
        session: Mapping[str, Any] | None = None,
        now: datetime | float | None = None,
    ) -> None:
        self.profile = profile or {}
        self.events = events
        self.session = session or {}
        self.times = [_epoch(event["timestamp"]) for event in events]
        self.now = _epoch(now) if now is not None else time.time()
        self._lookup = products if callable(products) else (products or {}).get
        self._products: dict[Any, Mapping[str, Any]] = {}

    def product(self, product_id: Any) -> Mapping[str, Any]:
        """The attributes of a product ({} if unknown), looked up once per context."""
        try:
            return self._products[product_id]
        except KeyError:
            found = self._lookup(product_id) if product_id is not None else None
            self._products[product_id] = found or {}
            return self._products[product_id]


# Validation ---------------------------------------------------------------------------------


def validate(rule: Any) -> list[str]:
    """Every problem of ``rule``, each prefixed with its JSON path; ``[]`` when it is valid."""
    errors: list[str] = []
    _check_rule(rule, "$", errors)
    return errors


def _check_rule(rule: Any, path: str, errors: list[str]) -> None:
    if not isinstance(rule, Mapping):
        errors.append(f"{path}: expected an object, got {type(rule).__name__}")
        return
    kinds = [key for key in (*_BOOLEAN_KEYS, "attr", "events", "session") if key in rule]
    if len(kinds) != 1:
        found = ", ".join(f'"{key}"' for key in rule) or "nothing"
        errors.append(
            f'{path}: expected exactly one of "all", "any", "not", "attr", "events", '
            f'"session"; found {found}'
        )
        return
    kind = kinds[0]
    if kind in ("all", "any"):
        _check_keys(rule, (kind,), path, errors)
        children = rule[kind]
        if not isinstance(children, list):
            errors.append(f"{path}.{kind}: expected a list of rules")
            return
        for index, child in enumerate(children):
            _check_rule(child, f"{path}.{kind}[{index}]", errors)
    elif kind == "not":
        _check_keys(rule, ("not",), path, errors)
        _check_rule(rule["not"], f"{path}.not", errors)
    elif kind == "attr":
        _check_keys(rule, ("attr", "op", "value"), path, errors)
        if not isinstance(rule["attr"], str) or not rule["attr"]:
            errors.append(f"{path}.attr: expected an attribute name")
        if "op" not in rule:
            errors.append(f'{path}: missing "op"')
        else:
            _check_operator(rule["op"], rule.get("value", _MISSING), f"{path}.op", errors)
    elif kind == "events":
        _check_events(rule, path, errors)
    else:
        _check_keys(rule, ("session",), path, errors)
        _check_conditions(rule["session"], f"{path}.session", errors)


def _check_keys(node: Mapping, allowed: Sequence[str], path: str, errors: list[str]) -> None:
    for key in node:
        if key not in allowed:
            expected = ", ".join(f'"{name}"' for name in allowed)
            errors.append(f'{path}: unknown key "{key}"; expected {expected}')


def _check_operator(op: Any, value: Any, path: str, errors: list[str]) -> None:
    if op not in _ALL_OPERATORS:
        errors.append(f'{path}: unknown operator "{op}"; expected one of {_EXPECTED_OPERATORS}')
        return
    value_path = path.rsplit(".", 1)[0] + ".value" if path.endswith(".op") else path
    if value is _MISSING:
        errors.append(f'{value_path}: missing the value of "{op}"')
    elif op == "exists" and not isinstance(value, bool):
        errors.append(f'{value_path}: "exists" takes true or false')
    elif op in ("in", "not_in") and not isinstance(value, list):
        errors.append(f'{value_path}: "{op}" takes a list')
    elif op in (">", ">=", "<", "<=") and (
        isinstance(value, bool) or not isinstance(value, int | float | str)
    ):
        errors.append(f'{value_path}: "{op}" takes a number or a text')


def _check_comparison(spec: Any, path: str, errors: list[str], extra: Sequence[str] = ()) -> None:
    if not isinstance(spec, Mapping):
        errors.append(f'{path}: expected an object of operators, such as {{">=": 2}}')
        return
    operators = [key for key in spec if key not in extra]
    if not operators:
        errors.append(f"{path}: expected at least one operator")
    for op in operators:
        _check_operator(op, spec[op], f"{path}.{op}" if op in OPERATORS else path, errors)


def _check_conditions(conditions: Any, path: str, errors: list[str]) -> None:
    if not isinstance(conditions, Mapping) or not conditions:
        errors.append(f"{path}: expected an object of attribute conditions")
        return
    for name, spec in conditions.items():
        if isinstance(spec, Mapping):
            _check_comparison(spec, f"{path}.{name}", errors)


def _check_events(rule: Mapping, path: str, errors: list[str]) -> None:
    _check_keys(rule, ("events", "count", "sum"), path, errors)
    event_filter = rule["events"]
    if not isinstance(event_filter, Mapping):
        errors.append(f'{path}.events: expected an object with at least "name"')
    else:
        _check_keys(event_filter, _EVENT_FILTER_KEYS, f"{path}.events", errors)
        names = event_filter.get("name")
        if isinstance(names, str):
            names = [names]
        if not (isinstance(names, list) and names and all(isinstance(n, str) and n for n in names)):
            errors.append(f"{path}.events.name: expected an event name or a list of names")
        if "within" in event_filter:
            try:
                parse_window(event_filter["within"])
            except ValueError as error:
                errors.append(f"{path}.events.within: {error}")
        if "in_session" in event_filter and not isinstance(event_filter["in_session"], bool):
            errors.append(f"{path}.events.in_session: expected true or false")
        for key in ("product", "properties"):
            if key in event_filter:
                _check_conditions(event_filter[key], f"{path}.events.{key}", errors)
    aggregates = [key for key in ("count", "sum") if key in rule]
    if len(aggregates) != 1:
        errors.append(f'{path}: expected exactly one of "count" and "sum"')
        return
    aggregate = aggregates[0]
    spec = rule[aggregate]
    if (
        aggregate == "sum"
        and isinstance(spec, Mapping)
        and not isinstance(spec.get("property"), str)
    ):
        errors.append(f"{path}.sum.property: expected the name of the property to sum")
    before = len(errors)
    _check_comparison(spec, f"{path}.{aggregate}", errors, extra=("property",))
    if len(errors) == before:
        for op, value in spec.items():
            if op != "property" and (isinstance(value, bool) or not isinstance(value, int | float)):
                errors.append(f"{path}.{aggregate}.{op}: a {aggregate} compares with numbers")


# Compilation --------------------------------------------------------------------------------


def compile(rule: Mapping[str, Any]) -> Predicate:
    """A fast predicate for ``rule``; raises :class:`RuleError` if it does not validate."""
    errors = validate(rule)
    if errors:
        raise RuleError(errors)
    return _compile(rule)


def _compile(rule: Mapping[str, Any]) -> Predicate:
    if "all" in rule:
        parts = tuple(_compile(child) for child in rule["all"])
        return lambda context: all(part(context) for part in parts)
    if "any" in rule:
        parts = tuple(_compile(child) for child in rule["any"])
        return lambda context: any(part(context) for part in parts)
    if "not" in rule:
        inner = _compile(rule["not"])
        return lambda context: not inner(context)
    if "attr" in rule:
        name, test = rule["attr"], _value_test({rule["op"]: rule["value"]})
        return lambda context: test(context.profile.get(name, _MISSING))
    if "session" in rule:
        test = _conditions_test(rule["session"])
        return lambda context: test(context.session)
    return _compile_events(rule)


def _value_test(spec: Mapping[str, Any]) -> Callable[[Any], bool]:
    """One function checking every ``OP: VALUE`` pair of ``spec`` against a value."""
    checks = []
    for op, expected in spec.items():
        if op == "exists":
            checks.append((None, expected))
        else:
            if op in ("in", "not_in"):
                expected = _lookup_set(expected)
            checks.append((OPERATORS[op], expected))

    def test(value: Any) -> bool:
        for function, expected in checks:
            if function is None:
                present = value is not _MISSING and value is not None
                if present != expected:
                    return False
            elif value is _MISSING or value is None:
                return False
            else:
                try:
                    if not function(value, expected):
                        return False
                except TypeError:
                    return False
        return True

    return test


def _lookup_set(values: list) -> Any:
    # A frozenset makes "in" constant-time; unhashable members keep the list.
    try:
        return frozenset(values)
    except TypeError:
        return values


def _conditions_test(conditions: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    tests = tuple(
        (name, _value_test(spec if isinstance(spec, Mapping) else {"==": spec}))
        for name, spec in conditions.items()
    )
    return lambda attributes: all(test(attributes.get(name, _MISSING)) for name, test in tests)


def _compile_events(rule: Mapping[str, Any]) -> Predicate:
    event_filter = rule["events"]
    names = event_filter["name"]
    names = frozenset([names] if isinstance(names, str) else names)
    window = parse_window(event_filter["within"]) if "within" in event_filter else None
    in_session = event_filter.get("in_session", False)
    product_test = _conditions_test(event_filter["product"]) if "product" in event_filter else None
    properties_test = (
        _conditions_test(event_filter["properties"]) if "properties" in event_filter else None
    )
    if "count" in rule:
        prop, result_test = None, _value_test(rule["count"])
    else:
        spec = dict(rule["sum"])
        prop = spec.pop("property")
        result_test = _value_test(spec)

    def evaluate(context: EvaluationContext) -> bool:
        since = context.now - window if window is not None else float("-inf")
        session_id = context.session.get("id") if in_session else None
        total = 0.0
        for event, moment in zip(context.events, context.times, strict=True):
            if event["name"] not in names or moment < since or moment > context.now:
                continue
            if in_session and event.get("session_id") != session_id:
                continue
            properties = event.get("properties") or {}
            if properties_test is not None and not properties_test(properties):
                continue
            product = None
            if product_test is not None:
                product = context.product(event.get("product_id"))
                if not product_test(product):
                    continue
            if prop is None:
                total += 1
                continue
            value = properties.get(prop)
            if value is None:
                if product is None:
                    product = context.product(event.get("product_id"))
                value = product.get(prop)
            if isinstance(value, int | float) and not isinstance(value, bool):
                total += value
        return result_test(total)

    return evaluate


# Built-in segments --------------------------------------------------------------------------

#: The built-in rule-based segments, by slug. Product attributes used: ``price_percentile``
#: (0–100 within the catalogue) and ``on_sale``; profile attributes: ``sessions`` and
#: ``price_sensitivity`` (share of discounted or low-price items bought, 0–1).
BUILTIN_RULES: Mapping[str, Mapping[str, Any]] = {
    # Several high-value items put in the cart within half an hour.
    "high-intent-shoppers": {
        "events": {
            "name": "add_to_cart",
            "within": "30m",
            "product": {"price_percentile": {">=": 80}},
        },
        "count": {">=": 2},
    },
    # Browsing the sale in this session, or a history of buying discounted items.
    "bargain-hunters": {
        "any": [
            {
                "events": {
                    "name": "product_view",
                    "in_session": True,
                    "product": {"on_sale": True},
                },
                "count": {">=": 3},
            },
            {"session": {"landing_path": {"contains": "/sale"}}},
            {"attr": "price_sensitivity", "op": ">=", "value": 0.6},
        ]
    },
    # Something added to the cart in the last week, nothing bought since, no cart activity for
    # the last hour.
    "cart-abandoners": {
        "all": [
            {"events": {"name": "add_to_cart", "within": "7d"}, "count": {">=": 1}},
            {"not": {"events": {"name": "purchase", "within": "7d"}, "count": {">=": 1}}},
            {
                "not": {
                    "events": {"name": ["add_to_cart", "checkout_start"], "within": "1h"},
                    "count": {">=": 1},
                }
            },
        ]
    },
    # Many product views in the last month without a single cart add or purchase.
    "window-shoppers": {
        "all": [
            {"events": {"name": "product_view", "within": "30d"}, "count": {">=": 10}},
            {
                "not": {
                    "events": {"name": ["add_to_cart", "purchase"], "within": "30d"},
                    "count": {">=": 1},
                }
            },
        ]
    },
    # In their first session (or without a profile yet).
    "new-visitors": {
        "any": [
            {"attr": "sessions", "op": "<=", "value": 1},
            {"attr": "sessions", "op": "exists", "value": False},
        ]
    },
}
