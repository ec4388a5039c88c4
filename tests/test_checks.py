"""System checks: every bad value is reported with its id, the setting, the value and a hint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.test import override_settings

from personalization.adapters import StoreAdapter
from personalization.checks import BOOLEANS, POSITIVE_INTS, check_settings
from personalization.conf import DEFAULTS

IN_MEMORY = "personalization.adapters.InMemoryStoreAdapter"


class NotAnAdapter:
    """Has the right methods but not the base class."""

    def get_product(self, product_id: str) -> None:
        return None


class HalfAdapter(StoreAdapter):
    def get_product(self, product_id: str) -> None:
        return None

    def iter_products(self) -> Iterator:
        return iter(())


def run(**overrides: Any) -> list:
    """The messages of the settings check with a configured adapter plus ``overrides``."""
    with override_settings(PERSONALIZATION={"STORE_ADAPTER": IN_MEMORY, **overrides}):
        return check_settings()


def with_id(messages: list, check_id: str) -> list:
    return [m for m in messages if m.id == check_id]


def only_about(messages: list, check_id: str, setting: str) -> Error | Warning:
    """The single message ``check_id`` raised about ``setting`` (and assert it is clear)."""
    found = [m for m in with_id(messages, check_id) if repr(setting) in m.msg]
    assert len(found) == 1, [m.msg for m in messages]
    message = found[0]
    assert message.hint, "every message says how to fix it"
    return message


# --- the store adapter (E001) ---------------------------------------------------------------


def test_an_unknown_adapter_path_is_e001() -> None:
    message = only_about(
        run(STORE_ADAPTER="shop.nowhere.Adapter"), "personalization.E001", "STORE_ADAPTER"
    )
    assert "shop.nowhere.Adapter" in message.msg
    assert "cannot be imported" in message.msg
    assert isinstance(message, Error)


def test_an_adapter_spec_of_the_wrong_shape_is_e001() -> None:
    message = only_about(run(STORE_ADAPTER=42), "personalization.E001", "STORE_ADAPTER")
    assert "cannot be imported" in message.msg


def test_a_class_that_is_not_a_store_adapter_is_e001() -> None:
    message = only_about(
        run(STORE_ADAPTER="tests.test_checks.NotAnAdapter"),
        "personalization.E001",
        "STORE_ADAPTER",
    )
    assert "is not a subclass of personalization.adapters.StoreAdapter" in message.msg


def test_an_adapter_with_abstract_methods_left_is_e001() -> None:
    message = only_about(
        run(STORE_ADAPTER="tests.test_checks.HalfAdapter"),
        "personalization.E001",
        "STORE_ADAPTER",
    )
    assert "does not implement iter_orders, product_id_for_path" in message.msg


def test_an_adapter_given_as_path_and_kwargs_is_accepted() -> None:
    assert not with_id(run(STORE_ADAPTER=(IN_MEMORY, {"products": []})), "personalization.E001")


def test_an_unknown_event_buffer_path_is_e002() -> None:
    message = only_about(
        run(EVENT_BUFFER="shop.nowhere.Buffer"), "personalization.E002", "EVENT_BUFFER"
    )
    assert "cannot be imported" in message.msg


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", POSITIVE_INTS)
@pytest.mark.parametrize("bad", [0, -5, 2.5, "60", True, None])
def test_a_bad_whole_number_is_e003(name: str, bad: Any) -> None:
    message = only_about(run(**{name: bad}), "personalization.E003", name)
    assert repr(bad) in message.msg
    assert "positive whole number" in message.msg
    assert repr(DEFAULTS[name]) in message.hint


@pytest.mark.parametrize("bad", [0, -1.0, "5", False])
def test_a_bad_flush_interval_is_e003(bad: Any) -> None:
    message = only_about(
        run(BUFFER_FLUSH_INTERVAL=bad), "personalization.E003", "BUFFER_FLUSH_INTERVAL"
    )
    assert "positive number" in message.msg


def test_a_fractional_flush_interval_is_fine() -> None:
    assert not with_id(run(BUFFER_FLUSH_INTERVAL=0.5), "personalization.E003")


@pytest.mark.parametrize("name", BOOLEANS)
@pytest.mark.parametrize("bad", [1, 0, "False", None])
def test_a_bad_boolean_is_e004(name: str, bad: Any) -> None:
    message = only_about(run(**{name: bad}), "personalization.E004", name)
    assert "True or False" in message.msg


@pytest.mark.parametrize("name", ["VISITOR_COOKIE_NAME", "CONSENT_COOKIE_NAME"])
@pytest.mark.parametrize("bad", ["", "my cookie", "a;b", "vid=1", 7])
def test_a_bad_cookie_name_is_e005(name: str, bad: Any) -> None:
    message = only_about(run(**{name: bad}), "personalization.E005", name)
    assert "cookie name" in message.msg


@pytest.mark.parametrize("name", ["INGEST_RATE_PER_VISITOR", "INGEST_RATE_PER_IP"])
@pytest.mark.parametrize("bad", ["10/fortnight", "ten/min", "600 / min", "/min", 600])
def test_a_bad_rate_is_e006(name: str, bad: Any) -> None:
    message = only_about(run(**{name: bad}), "personalization.E006", name)
    assert "is not a rate" in message.msg


@pytest.mark.parametrize("good", ["1/s", "20/sec", "600/min", "5/hour", "1000/day"])
def test_good_rates_pass(good: str) -> None:
    assert not with_id(run(INGEST_RATE_PER_IP=good), "personalization.E006")


@pytest.mark.parametrize("bad", ["/admin/", ["admin/"], ["/ok/", None], None])
def test_bad_excluded_prefixes_are_e007(bad: Any) -> None:
    message = only_about(
        run(EXCLUDED_PATH_PREFIXES=bad), "personalization.E007", "EXCLUDED_PATH_PREFIXES"
    )
    assert "starting with '/'" in message.msg


def test_empty_excluded_prefixes_are_fine() -> None:
    assert not with_id(run(EXCLUDED_PATH_PREFIXES=[]), "personalization.E007")


@pytest.mark.parametrize("bad", [["necessary"], ["ads"], "marketing"])
def test_bad_opt_out_categories_are_e008(bad: Any) -> None:
    message = only_about(
        run(OPT_OUT_SIGNAL_CATEGORIES=bad), "personalization.E008", "OPT_OUT_SIGNAL_CATEGORIES"
    )
    assert "marketing" in message.hint


def test_a_setting_that_is_not_a_dict_is_e010() -> None:
    with override_settings(PERSONALIZATION=[("STORE_ADAPTER", IN_MEMORY)]):
        messages = check_settings()
    assert [m.id for m in messages] == ["personalization.E010"]


def test_good_values_raise_nothing() -> None:
    messages = run(
        SESSION_IDLE_TIMEOUT=900,
        TRACKING_ENABLED=False,
        VISITOR_COOKIE_NAME="shop-visitor_id",
        INGEST_RATE_PER_VISITOR="100/minute",
        EXCLUDED_PATH_PREFIXES=("/admin/", "/checkout/"),
        OPT_OUT_SIGNAL_CATEGORIES=["analytics", "marketing"],
    )
    value_ids = {f"personalization.E00{n}" for n in range(3, 9)} | {"personalization.W001"}
    assert not [m for m in messages if m.id in value_ids], [m.msg for m in messages]


# --- warnings -------------------------------------------------------------------------------


def test_an_unknown_key_is_w001() -> None:
    messages = with_id(run(SESION_IDLE_TIMEOUT=60), "personalization.W001")
    assert len(messages) == 1
    assert isinstance(messages[0], Warning)
    assert "'SESION_IDLE_TIMEOUT'" in messages[0].msg
    assert "SESSION_IDLE_TIMEOUT" in messages[0].hint


@override_settings(PERSONALIZATION={})
def test_the_default_adapter_is_w002() -> None:
    messages = with_id(check_settings(), "personalization.W002")
    assert len(messages) == 1
    assert "no products and no orders" in messages[0].msg
    assert "STORE_ADAPTER" in messages[0].hint


def test_a_configured_adapter_has_no_w002() -> None:
    assert not with_id(run(), "personalization.W002")


# --- the demo shop --------------------------------------------------------------------------


def test_the_demo_settings_pass_every_check() -> None:
    assert check_settings() == []
    # Raises SystemCheckError on any error, including those of the URL conf and the models.
    call_command("check", fail_level="WARNING", verbosity=0)
