"""Helpers of the live-segment tests: a small catalogue, people and stored events."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.utils import timezone

from personalization.models import Segment, Visitor
from personalization.segmentation.rules import BUILTIN_RULES
from personalization.segments import live
from personalization.tracking.events import make_event
from personalization.tracking.writer import write_events
from tests.factories import make_category, make_product


def catalogue() -> dict[str, str]:
    """Ten products priced 10–100 (the two dearest at or above the 80th price percentile) and
    one cheap product on sale; returns product ids by role."""
    category = make_category()
    products = [make_product(category=category, price=10 * n) for n in range(1, 11)]
    sale = make_product(category=category, price="5.00", compare_at_price=Decimal("9.00"))
    live._forget_products(setting="PERSONALIZATION")
    return {
        "dearest": str(products[-1].pk),
        "second": str(products[-2].pk),
        "cheap": str(products[0].pk),
        "sale": str(sale.pk),
    }


def event(
    name: str, vid: str, session: str, *, at: dt.datetime | None = None, **fields: Any
) -> dict[str, Any]:
    return make_event(name, source="server", vid=vid, session_id=session, received_at=at, **fields)


def store(django_capture_on_commit_callbacks: Any, events: list[dict[str, Any]]) -> None:
    """Write events as the flush does, running the after-commit receivers."""
    with django_capture_on_commit_callbacks(execute=True):
        write_events(events)


def visitor_person(vid: str) -> tuple[str, int]:
    return ("visitor", Visitor.objects.get(vid=vid).pk)


def new_session() -> str:
    return str(uuid.uuid4())


def ago(**delta: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def slugs_of(memberships: Any) -> set[str]:
    return set(memberships.values_list("segment__slug", flat=True))


def make_rule_segment(slug: str, rule: dict, mode: str = Segment.DYNAMIC) -> Segment:
    return Segment.objects.create(slug=slug, name=slug, kind=Segment.RULE, mode=mode, rule=rule)


def high_intent_segment() -> Segment:
    """The built-in "high-intent-shoppers" segment, made again if a transactional test emptied
    the table its data migration filled."""
    segment, _created = Segment.objects.get_or_create(
        slug="high-intent-shoppers",
        defaults={
            "name": "High-intent shoppers",
            "kind": Segment.RULE,
            "mode": Segment.DYNAMIC,
            "rule": BUILTIN_RULES["high-intent-shoppers"],
        },
    )
    return segment
