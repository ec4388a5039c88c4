"""Erasure and retention through a real Celery worker on PostgreSQL and Redis."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from personalization.models import ConsentRecord, DataSubjectRequest, Event, Visitor
from personalization.privacy import request_erasure, user_cache_key, visitor_cache_key
from personalization.privacy.pseudonyms import erased_subject
from personalization.tasks import erase_user_data

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_worker_erases_a_person_and_their_cached_data(celery_worker_process, person) -> None:
    keys = [
        user_cache_key(person.user.pk, "recs", "home"),
        visitor_cache_key(person.phone.vid, "recs"),
    ]
    bob_key = user_cache_key(person.other_user.pk, "recs", "home")
    cache.set_many(dict.fromkeys([*keys, bob_key], ["p1", "p2"]), timeout=300)

    request = request_erasure(person.user.pk, via="api")
    # The transaction has committed (transactional test): the task went to the worker; run it
    # again and wait for the answer, which a done request makes a no-op.
    result = erase_user_data.delay(person.user.pk, request.pk)
    counts = result.get(timeout=60)

    request.refresh_from_db()
    assert request.status == "done" and counts == request.counts
    assert counts["events"] == 6 and counts["visitors"] == 2
    assert not Event.objects.filter(user=person.user).exists()
    assert not Visitor.objects.filter(user=person.user).exists()
    assert ConsentRecord.objects.filter(vid=erased_subject(person.user.pk)).count() == 2
    assert cache.get_many(keys) == {}
    assert cache.get(bob_key) == ["p1", "p2"]
    assert DataSubjectRequest.objects.count() == 1
    assert result.status == "SUCCESS"
