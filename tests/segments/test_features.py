"""Reading the tracked behaviour and the store into the feature frames (the Django side)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from demo_shop.shop.adapter import ShopAdapter
from demo_shop.shop.models import CustomerProfile
from personalization.adapters import ProductData
from personalization.models import Event, Session, Visitor
from personalization.segments import features as feature_io
from tests.factories import make_product, make_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_on_sale_comes_from_the_was_price() -> None:
    assert ProductData(
        id="1", title="a", price=Decimal("8"), compare_at_price=Decimal("10")
    ).on_sale
    assert not ProductData(id="1", title="a", price=Decimal("8")).on_sale
    assert not ProductData(
        id="1", title="a", price=Decimal("8"), compare_at_price=Decimal("8")
    ).on_sale


@pytest.fixture
def behaviour() -> dict:
    ann = make_user("ann")
    mug = make_product("Mug", price="12.00", compare_at_price=Decimal("15.00"))
    phone = Visitor.objects.create(user=ann)
    anonymous = Visitor.objects.create()
    session = Session.objects.create(
        visitor=phone, started_at=NOW - dt.timedelta(hours=2), ended_at=NOW - dt.timedelta(hours=1)
    )

    def event(name, visitor, product="", user=None, **properties):
        return Event.objects.create(
            name=name,
            visitor=visitor,
            user=user,
            session=session if visitor == phone else None,
            product_id=product,
            properties=properties,
            occurred_at=NOW - dt.timedelta(hours=1),
        )

    # Logged out on her phone (no user on the event), but the phone is hers.
    event("product_view", phone, str(mug.pk))
    event("dwell", phone, str(mug.pk), seconds=12.5)
    event("dwell", phone, str(mug.pk), seconds="a lot")
    event("add_to_cart", phone, str(mug.pk), user=ann)
    event("product_view", anonymous, "no-such-product")
    event("search", anonymous)
    return {"ann": ann, "mug": mug, "phone": phone, "anonymous": anonymous, "session": session}


def test_events_count_for_the_user_of_their_visitor(behaviour) -> None:
    products = feature_io.read_products(ShopAdapter())
    events = feature_io.read_events(None, NOW, products.index)
    ann, anonymous = behaviour["ann"].pk, -behaviour["anonymous"].pk

    assert sorted(events["person"].unique().tolist()) == sorted([ann, anonymous])
    # Searches are not read; the anonymous visitor's unknown product is read as missing.
    assert sorted(events["name"].astype(str)) == [
        "add_to_cart",
        "dwell",
        "dwell",
        "product_view",
        "product_view",
    ]
    theirs = events[events["person"] == anonymous]
    assert theirs["product_id"].isna().all()
    # Dwell seconds: numbers kept, anything else missing; only cart adds keep their session.
    seconds = sorted(events.loc[events["name"] == "dwell", "seconds"], key=np.isnan)
    assert seconds[0] == 12.5 and np.isnan(seconds[1])
    carts = events[events["name"] == "add_to_cart"]
    assert carts["session_id"].tolist() == [behaviour["session"].pk]


def test_sessions_and_products(behaviour) -> None:
    sessions = feature_io.read_sessions(None, NOW)
    assert sessions["person"].tolist() == [behaviour["ann"].pk]
    products = feature_io.read_products(ShopAdapter())
    mug = products.loc[str(behaviour["mug"].pk)]
    assert mug["on_sale"] and mug["price"] == 12.0 and mug["category"]


def test_account_attributes_from_the_adapter() -> None:
    ann, bob = make_user("ann"), make_user("bob")
    CustomerProfile.objects.create(user=ann, country="United Kingdom", birth_year=1984, phone="1")
    CustomerProfile.objects.create(user=bob)
    attributes = feature_io.read_attributes(ShopAdapter())
    # Contact details stay in the store; a customer without attributes has no row.
    assert attributes.to_dict("index") == {
        ann.pk: {"country": "United Kingdom", "birth_year": 1984}
    }


def test_features_of_the_read_frames(behaviour) -> None:
    inputs = feature_io.read_inputs(as_of=NOW, lookback_days=30, adapter=ShopAdapter())
    table = feature_io.build(inputs, NOW)
    ann = table.loc[behaviour["ann"].pk]
    assert ann["sessions"] == 1
    assert ann["dwell_seconds"] == pytest.approx(12.5)
    assert ann["avg_session_seconds"] == pytest.approx(3600)
    assert ann["category_affinity"] == {behaviour["mug"].category.name: 1.0}
