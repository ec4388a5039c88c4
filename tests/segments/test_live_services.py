"""Dynamic segments through the real ingest path: the API, the Redis buffer, a Celery worker's
flush and its ``events_stored`` receiver, on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from personalization.models import Event, Visitor
from personalization.segments.membership import segment_slugs
from personalization.tasks import flush_events
from tests.api.support import make_visitor
from tests.factories import make_category, make_product
from tests.segments.seglive_support import high_intent_segment

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_events_posted_to_the_api_put_the_visitor_into_high_intent_shoppers(
    celery_worker_process: dict[str, str],
) -> None:
    high_intent_segment()
    category = make_category()
    for n in range(8):
        make_product(category=category, price=10 + n)
    # Prices far above anything another test may have put in the worker's cached catalogue.
    dear = [make_product(category=category, price=900_000 + n) for n in range(2)]
    # Earlier tests may have left events in the shared buffer: write them first.
    flush_events.delay().get(timeout=60)
    visitor = make_visitor()
    events = [
        {"name": "add_to_cart", "product_id": str(product.pk), "event_id": str(uuid.uuid4())}
        for product in dear
    ]
    response = visitor.post({"token": visitor.token, "source": "js", "events": events})
    assert response.status_code == 202

    flush_events.delay().get(timeout=60)

    assert Event.objects.filter(visitor__vid=visitor.vid).count() == 2
    person = ("visitor", Visitor.objects.get(vid=visitor.vid).pk)
    assert "high-intent-shoppers" in segment_slugs(person)
    body = visitor.get("/personalization/api/segments/me/").json()
    assert "high-intent-shoppers" in [s["slug"] for s in body["segments"]]
