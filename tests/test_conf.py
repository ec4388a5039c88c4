"""The settings object: defaults, overrides read at access time, components built once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from personalization.adapters import (
    EmptyStoreAdapter,
    InMemoryStoreAdapter,
    ProductData,
    get_adapter,
)
from personalization.conf import DEFAULTS, app_settings, load_component, split_import_spec

IN_MEMORY = "personalization.adapters.InMemoryStoreAdapter"


@override_settings(PERSONALIZATION={})
def test_every_default_is_served_when_nothing_is_set() -> None:
    for name, default in DEFAULTS.items():
        assert getattr(app_settings, name) == default, name


def test_a_project_without_the_setting_gets_the_defaults(settings) -> None:
    del settings.PERSONALIZATION
    assert app_settings.user_settings() == {}
    assert DEFAULTS["SESSION_IDLE_TIMEOUT"] == app_settings.SESSION_IDLE_TIMEOUT


def test_user_values_win_over_defaults_and_the_rest_stay_default() -> None:
    with override_settings(PERSONALIZATION={"SESSION_IDLE_TIMEOUT": 600}):
        assert app_settings.SESSION_IDLE_TIMEOUT == 600
        assert DEFAULTS["VISITOR_COOKIE_NAME"] == app_settings.VISITOR_COOKIE_NAME


def test_a_changed_setting_is_seen_on_the_next_access() -> None:
    with override_settings(PERSONALIZATION={"TRACKING_ENABLED": False}):
        assert app_settings.TRACKING_ENABLED is False
        with override_settings(PERSONALIZATION={"TRACKING_ENABLED": True}):
            assert app_settings.TRACKING_ENABLED is True
        assert app_settings.TRACKING_ENABLED is False


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NO_SUCH_SETTING"):
        _ = app_settings.NO_SUCH_SETTING


@override_settings(PERSONALIZATION={"SESION_IDLE_TIMEOUT": 5, "TRACKING_ENABLED": False})
def test_unknown_keys_are_listed() -> None:
    assert app_settings.unknown_keys() == ["SESION_IDLE_TIMEOUT"]


@override_settings(PERSONALIZATION={"STORE_ADAPTER": IN_MEMORY})
def test_a_component_is_built_once() -> None:
    first = load_component("STORE_ADAPTER")
    assert isinstance(first, InMemoryStoreAdapter)
    assert load_component("STORE_ADAPTER") is first
    assert get_adapter() is first


def test_a_component_is_rebuilt_when_the_setting_changes() -> None:
    with override_settings(PERSONALIZATION={"STORE_ADAPTER": IN_MEMORY}):
        in_memory = get_adapter()
    with override_settings(PERSONALIZATION={"STORE_ADAPTER": IN_MEMORY}):
        assert get_adapter() is not in_memory
    with override_settings(PERSONALIZATION={}):
        assert isinstance(get_adapter(), EmptyStoreAdapter)


@pytest.mark.parametrize("make_spec", [tuple, list], ids=["tuple", "list"])
def test_a_path_and_kwargs_spec_passes_the_kwargs(make_spec) -> None:
    product = ProductData(id="7", title="Teapot", price=Decimal("12.50"))
    spec = make_spec([IN_MEMORY, {"products": [product]}])
    with override_settings(PERSONALIZATION={"STORE_ADAPTER": spec}):
        adapter = get_adapter()
    assert isinstance(adapter, InMemoryStoreAdapter)
    assert adapter.get_product("7") == product


def test_only_import_settings_can_be_loaded() -> None:
    with pytest.raises(KeyError):
        load_component("SESSION_IDLE_TIMEOUT")


def test_split_import_spec_accepts_a_path_or_a_pair() -> None:
    assert split_import_spec("a.B") == ("a.B", {})
    kwargs = {"size": 3}
    path, got = split_import_spec(("a.B", kwargs))
    assert (path, got) == ("a.B", {"size": 3})
    got["size"] = 4
    assert kwargs == {"size": 3}, "the caller's dict must not be shared"


@pytest.mark.parametrize(
    "spec",
    [None, 42, ("a.B",), ("a.B", {}, {}), (1, {}), ("a.B", ["x"]), {"path": "a.B"}],
)
def test_split_import_spec_rejects_anything_else(spec) -> None:
    with pytest.raises(TypeError, match="dotted path"):
        split_import_spec(spec)
