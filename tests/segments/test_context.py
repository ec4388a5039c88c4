"""``request.personalization.segments``: consent, caching and invalidation, template access."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.template import RequestContext, Template
from django.test import RequestFactory

from personalization.context_processors import personalization
from personalization.models import Segment, SegmentMembership, Visitor
from personalization.models.tracking import new_visitor_id
from personalization.segments.membership import enter, leave
from personalization.tracking.context import PersonalizationContext
from tests.factories import make_user

pytestmark = pytest.mark.django_db

GRANTED = "1:analytics+personalization"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def make_request(vid: str | None, consent: str | None = GRANTED, user=None):
    request = RequestFactory().get("/")
    if vid is not None:
        request.COOKIES["p13n_vid"] = vid
    if consent is not None:
        request.COOKIES["p13n_consent"] = consent
    if user is not None:
        request.user = user
    request.personalization = PersonalizationContext(request)
    return request


def visitor() -> Visitor:
    return Visitor.objects.create(vid=new_visitor_id())


def segment(slug: str) -> Segment:
    return Segment.objects.get(slug=slug)


def test_a_visitor_sees_their_static_and_dynamic_segments(
    django_capture_on_commit_callbacks,
) -> None:
    person = visitor()
    with django_capture_on_commit_callbacks(execute=True):
        enter(segment("new-visitors"), ("visitor", person.pk))
        enter(segment("cart-abandoners"), ("visitor", person.pk))
    assert make_request(person.vid).personalization.segments == frozenset(
        {"new-visitors", "cart-abandoners"}
    )


def test_without_personalization_consent_there_are_no_segments() -> None:
    person = visitor()
    enter(segment("new-visitors"), ("visitor", person.pk))
    assert make_request(person.vid, consent="1:analytics").personalization.segments == frozenset()
    assert make_request(person.vid, consent=None).personalization.segments == frozenset()


def test_inactive_segments_are_left_out() -> None:
    person = visitor()
    enter(segment("new-visitors"), ("visitor", person.pk))
    Segment.objects.filter(slug="new-visitors").update(is_active=False)
    assert make_request(person.vid).personalization.segments == frozenset()


def test_a_logged_in_user_sees_theirs_and_their_unmerged_visitors() -> None:
    user, person = make_user(), visitor()
    enter(segment("window-shoppers"), ("user", user.pk))
    enter(segment("new-visitors"), ("visitor", person.pk))
    request = make_request(person.vid, user=user)
    assert request.personalization.segments == {"window-shoppers", "new-visitors"}


def test_the_answer_is_cached_and_dropped_when_membership_changes(
    django_assert_num_queries, django_capture_on_commit_callbacks
) -> None:
    person = visitor()
    enter(segment("new-visitors"), ("visitor", person.pk))
    assert make_request(person.vid).personalization.segments == {"new-visitors"}
    # A change behind the service's back is not seen: the cached answer is used.
    SegmentMembership.objects.all().delete()
    with django_assert_num_queries(0):
        assert make_request(person.vid).personalization.segments == {"new-visitors"}
    with django_capture_on_commit_callbacks(execute=True):
        enter(segment("bargain-hunters"), ("visitor", person.pk))
    assert make_request(person.vid).personalization.segments == {"bargain-hunters"}
    with django_capture_on_commit_callbacks(execute=True):
        leave(segment("bargain-hunters"), ("visitor", person.pk))
    assert make_request(person.vid).personalization.segments == frozenset()


def test_editing_a_segment_drops_every_cached_answer(django_capture_on_commit_callbacks) -> None:
    person = visitor()
    enter(segment("new-visitors"), ("visitor", person.pk))
    assert make_request(person.vid).personalization.segments == {"new-visitors"}
    with django_capture_on_commit_callbacks(execute=True):
        new_visitors = segment("new-visitors")
        new_visitors.is_active = False
        new_visitors.save()
    assert make_request(person.vid).personalization.segments == frozenset()


def test_segments_are_loaded_only_when_read(django_assert_num_queries) -> None:
    person = visitor()
    enter(segment("new-visitors"), ("visitor", person.pk))
    request = make_request(person.vid)
    with django_assert_num_queries(0):
        p13n = personalization(request)["p13n"]
    assert p13n.segments == {"new-visitors"}


def test_templates_read_segments_through_the_context_processor() -> None:
    person = visitor()
    enter(segment("high-intent-shoppers"), ("visitor", person.pk))
    template = Template(
        '{% if "high-intent-shoppers" in p13n.segments %}intent{% else %}none{% endif %}'
    )
    assert template.render(RequestContext(make_request(person.vid), {})) == "intent"
    assert template.render(RequestContext(make_request(new_visitor_id()), {})) == "none"


def test_the_context_processor_works_without_the_middleware() -> None:
    request = RequestFactory().get("/")
    template = Template("{% if 'x' in p13n.segments %}x{% else %}empty{% endif %}")
    assert template.render(RequestContext(request, {})) == "empty"


def test_the_demo_home_shows_a_banner_to_bargain_hunters(client) -> None:
    person = visitor()
    client.cookies["p13n_vid"] = person.vid
    client.cookies["p13n_consent"] = GRANTED
    assert 'data-segment="bargain-hunters"' not in client.get("/").content.decode()
    enter(segment("bargain-hunters"), ("visitor", person.pk))
    cache.clear()
    assert 'data-segment="bargain-hunters"' in client.get("/").content.decode()
