"""Customer de-duplication: suggestions from the store's records, the merge, dismissal, the admin,
and the privacy export of what it keeps."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from demo_shop.shop.models import CustomerProfile, Order, WishlistItem
from personalization.models import (
    ConsentRecord,
    CustomerMerge,
    Event,
    MergeSuggestion,
    Profile,
    Segment,
    SegmentMembership,
    Session,
    Visitor,
)
from personalization.models.tracking import new_visitor_id
from personalization.privacy.registry import Subject, export_sections
from personalization.segments import dedup
from personalization.segments.membership import enter, segment_slugs
from tests.factories import make_product, make_user

pytestmark = pytest.mark.django_db


def customer(username: str, first: str, last: str, email: str, **profile: str):
    user = make_user(username, first_name=first, last_name=last, email=email)
    CustomerProfile.objects.create(user=user, **profile)
    return user


@pytest.fixture
def twins():
    """Two accounts of Sofia Rossi (a typo, a +tag and a spaced phone), and a stranger."""
    a = customer(
        "sofia",
        "Sofia",
        "Rossi",
        "sofia.rossi@example.com",
        phone="07700 900123",
        address="12 High St",
        postcode="AB1 2CD",
    )
    b = customer(
        "sofia2",
        "Sofia",
        "Rosi",
        "Sofia.Rossi+shop@example.com",
        phone="+44 7700 900123",
        address="12 High Street",
        postcode="ab12cd",
    )
    stranger = customer(
        "omar",
        "Omar",
        "Haddad",
        "omar@example.org",
        phone="07700 111222",
        address="5 Low Road",
        postcode="ZZ9 9ZZ",
    )
    return a, b, stranger


def test_suggests_the_near_duplicate_pair_with_its_reasons(twins) -> None:
    a, b, _ = twins
    assert dedup.suggest_merges() == 1
    suggestion = MergeSuggestion.objects.get()
    assert (suggestion.user_a_id, suggestion.user_b_id) == (a.pk, b.pk)
    assert suggestion.score >= 0.85
    assert "same email" in suggestion.reasons
    assert suggestion.status == MergeSuggestion.PENDING
    # Running again changes nothing.
    assert dedup.suggest_merges() == 0
    assert MergeSuggestion.objects.count() == 1


def test_a_dismissed_pair_is_not_suggested_again(twins) -> None:
    admin = make_user("admin", is_staff=True)
    dedup.suggest_merges()
    suggestion = MergeSuggestion.objects.get()
    assert dedup.dismiss(suggestion, admin) is True
    assert dedup.dismiss(suggestion, admin) is False
    assert dedup.suggest_merges() == 0
    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.DISMISSED
    assert suggestion.reviewed_by == admin


def test_a_pair_is_stored_in_order_once() -> None:
    a, b = make_user(), make_user()
    MergeSuggestion.objects.create(user_a=a, user_b=b, score=0.9)
    with pytest.raises(IntegrityError), transaction.atomic():
        MergeSuggestion.objects.create(user_a=a, user_b=b, score=0.9)
    with pytest.raises(IntegrityError), transaction.atomic():
        MergeSuggestion.objects.create(user_a=b, user_b=a, score=0.9)


def give_history(user, product) -> dict:
    visitor = Visitor.objects.create(vid=new_visitor_id(), user=user)
    session = Session.objects.create(visitor=visitor, user=user)
    Event.objects.create(name="page_view", visitor=visitor, user=user, session=session)
    Event.objects.create(
        name="add_to_cart", visitor=visitor, user=user, session=session, product_id="1"
    )
    ConsentRecord.objects.create(
        visitor=visitor, vid=visitor.vid, user=user, policy_version=1, method="banner"
    )
    Order.objects.create(number=uuid.uuid4().hex[:12], user=user, total=Decimal("20"))
    WishlistItem.objects.create(user=user, product=product)
    return {"visitor": visitor, "session": session}


def test_merge_moves_everything_to_the_kept_account_and_records_it(twins) -> None:
    a, b, _ = twins
    admin = make_user("admin", is_staff=True)
    product = make_product()
    give_history(a, product)
    give_history(b, product)  # the same wishlisted product: that item stays with b
    Profile.objects.create(user=b, sessions=3)
    enter(Segment.objects.get(slug="window-shoppers"), ("user", b.pk))
    enter(Segment.objects.get(slug="new-visitors"), ("user", a.pk))
    enter(Segment.objects.get(slug="new-visitors"), ("user", b.pk))
    dedup.suggest_merges()
    suggestion = MergeSuggestion.objects.get()

    record = dedup.merge(suggestion, admin)

    assert Visitor.objects.filter(user=a).count() == 2
    assert Session.objects.filter(user=a).count() == 2
    assert Event.objects.filter(user=a).count() == 4
    assert ConsentRecord.objects.filter(user=a).count() == 2
    assert Order.objects.filter(user=a).count() == 2
    assert WishlistItem.objects.filter(user=a).count() == 1
    for model in (Visitor, Session, Event, ConsentRecord, Order):
        assert not model.objects.filter(user=b).exists()
    assert Profile.objects.get(user=a).sessions == 3
    assert segment_slugs(("user", a.pk)) >= {"window-shoppers", "new-visitors"}
    assert not SegmentMembership.objects.filter(user=b, exited_at__isnull=True).exists()
    assert SegmentMembership.objects.filter(user=a, segment__slug="new-visitors").count() == 2
    b.refresh_from_db()
    assert b.is_active is False
    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.MERGED
    assert suggestion.reviewed_by == admin
    assert (record.source_account, record.target_account) == (str(b.pk), str(a.pk))
    assert record.merged_by == admin
    assert record.moved["events"] == 2
    assert record.moved["visitors"] == 1
    assert record.moved["consent_records"] == 1
    assert record.moved["store_orders"] == 1
    assert record.moved["store_wishlist_items"] == 0
    assert record.moved["profiles"] == 1


def test_merge_can_keep_the_newer_account(twins) -> None:
    a, b, _ = twins
    dedup.suggest_merges()
    record = dedup.merge(MergeSuggestion.objects.get(), None, keep=b.pk)
    assert record.target_account == str(b.pk)
    a.refresh_from_db()
    assert a.is_active is False


def test_a_failing_store_merge_undoes_everything(twins, monkeypatch) -> None:
    a, b, _ = twins
    give_history(b, make_product())
    dedup.suggest_merges()
    suggestion = MergeSuggestion.objects.get()

    def broken(self, source_id, target_id):
        raise RuntimeError("the store is down")

    monkeypatch.setattr("demo_shop.shop.adapter.ShopAdapter.merge_customers", broken)
    with pytest.raises(RuntimeError):
        dedup.merge(suggestion, None)
    assert Event.objects.filter(user=b).count() == 2
    assert CustomerMerge.objects.count() == 0
    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.PENDING


def test_only_pending_suggestions_merge(twins) -> None:
    a, b, _ = twins
    dedup.suggest_merges()
    suggestion = MergeSuggestion.objects.get()
    dedup.dismiss(suggestion, None)
    with pytest.raises(dedup.MergeError, match="already dismissed"):
        dedup.merge(suggestion, None)
    with pytest.raises(dedup.MergeError, match="not one of"):
        dedup.merge(suggestion, None, keep=twins[2].pk)


# Admin ------------------------------------------------------------------------------------------

CHANGELIST = "/admin/personalization/mergesuggestion/"


@pytest.fixture
def staff_client(client):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    return client


def test_the_list_shows_score_and_reasons(staff_client, twins) -> None:
    dedup.suggest_merges()
    page = staff_client.get(CHANGELIST).content.decode()
    assert "same email" in page
    assert "%" in page


def test_the_change_page_shows_both_records_side_by_side(staff_client, twins) -> None:
    dedup.suggest_merges()
    suggestion = MergeSuggestion.objects.get()
    page = staff_client.get(f"{CHANGELIST}{suggestion.pk}/change/").content.decode()
    assert "sofia.rossi@example.com" in page
    assert "Sofia.Rossi+shop@example.com" in page
    assert "12 High Street" in page


def test_the_merge_action_asks_for_confirmation_then_merges(staff_client, twins) -> None:
    a, b, _ = twins
    dedup.suggest_merges()
    suggestion = MergeSuggestion.objects.get()
    data = {"action": "merge_accounts", "_selected_action": [suggestion.pk]}
    page = staff_client.post(CHANGELIST, data)
    assert page.status_code == 200
    assert b"keep account" in page.content
    assert CustomerMerge.objects.count() == 0
    done = staff_client.post(
        CHANGELIST, {**data, "confirm": "yes", f"keep-{suggestion.pk}": str(b.pk)}, follow=True
    )
    assert b"Merged 1 pair of accounts." in done.content
    merge = CustomerMerge.objects.get()
    assert merge.target_account == str(b.pk)
    assert merge.merged_by.username == "root"
    log = staff_client.get("/admin/personalization/customermerge/").content.decode()
    assert f"user {a.pk} → user {b.pk}" in log


def test_the_dismiss_action(staff_client, twins) -> None:
    dedup.suggest_merges()
    suggestion = MergeSuggestion.objects.get()
    response = staff_client.post(
        CHANGELIST,
        {"action": "dismiss_suggestions", "_selected_action": [suggestion.pk]},
        follow=True,
    )
    assert b"Dismissed 1 suggestion." in response.content
    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.DISMISSED


def test_the_merge_log_is_read_only(staff_client, twins) -> None:
    dedup.suggest_merges()
    record = dedup.merge(MergeSuggestion.objects.get(), None)
    page = staff_client.get(f"/admin/personalization/customermerge/{record.pk}/change/")
    assert page.status_code == 200
    assert b'name="source_account"' not in page.content
    assert staff_client.get("/admin/personalization/customermerge/add/").status_code == 403


def test_exports_include_memberships_and_merges(twins) -> None:
    a, b, _ = twins
    enter(Segment.objects.get(slug="new-visitors"), ("user", a.pk))
    dedup.suggest_merges()
    dedup.merge(MergeSuggestion.objects.get(), None)
    sections = export_sections()
    subject = Subject(user_id=a.pk)
    assert [row["slug"] for row in sections["segments"](subject)] == ["new-visitors"]
    assert sections["customer_merges"](subject)[0]["merged_account"] == str(b.pk)


def test_customers_whose_ids_are_not_user_ids_are_left_out(twins, monkeypatch, caplog) -> None:
    from demo_shop.shop.adapter import ShopAdapter
    from personalization.adapters import CustomerData

    real = ShopAdapter.iter_customers

    def with_a_bad_record(self, ids=None):
        yield CustomerData(id="not-a-number", name="Sofia Rossi", email="sofia.rossi@example.com")
        yield from real(self, ids)

    monkeypatch.setattr(ShopAdapter, "iter_customers", with_a_bad_record)
    assert dedup.suggest_merges() == 1
    assert "not user ids" in caplog.text


def test_a_bad_kept_account_id_is_a_merge_error(twins) -> None:
    dedup.suggest_merges()
    with pytest.raises(dedup.MergeError, match="not an account id"):
        dedup.merge(MergeSuggestion.objects.get(), None, keep="abc")


def test_erasure_deletes_memberships_profile_suggestions_and_cached_segments(twins) -> None:
    from personalization.privacy import erase_user
    from personalization.segments.context import segments_of

    a, b, _ = twins
    enter(Segment.objects.get(slug="new-visitors"), ("user", a.pk))
    Profile.objects.create(user=a, sessions=2)
    dedup.suggest_merges()
    assert segments_of(a.pk, None) == {"new-visitors"}
    request = erase_user(a.pk)
    assert request.counts["segment_memberships"] == 1
    assert request.counts["profiles"] == 1
    assert request.counts["merge_suggestions"] == 1
    assert not SegmentMembership.objects.filter(user=a).exists()
    assert not MergeSuggestion.objects.exists()
    assert segments_of(a.pk, None) == frozenset()
    # The other account keeps its things.
    assert get_user_model().objects.filter(pk=b.pk, is_active=True).exists()
