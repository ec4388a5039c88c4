"""Duplicate customer accounts: suggestions from the store's records, and the reviewed merge.

:func:`suggest_merges` reads every customer's contact details through the store adapter
(``iter_customers()``), scores likely pairs with :func:`personalization.segmentation.dedup
.find_duplicates` and keeps them as :class:`~personalization.models.MergeSuggestion` rows for an
admin to review. :func:`merge` moves one account's data into the other in one transaction: the
app's visitors, sessions, events, identity merges, consent records, segment memberships and
profile, then the store's records through the adapter's ``merge_customers()``; the source account
is deactivated and the merge recorded as a :class:`~personalization.models.CustomerMerge`.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..adapters import CustomerData, get_adapter
from ..conf import app_settings
from ..models.consent import ConsentRecord
from ..models.dedup import CustomerMerge, MergeSuggestion
from ..models.tracking import Event, IdentityMerge, Session, Visitor
from ..segmentation.dedup import find_duplicates
from ..transactions import on_commit_robust
from . import live
from .people import move_person

logger = logging.getLogger(__name__)

_FIELDS = ("name", "email", "phone", "address", "postcode")
# The app's own rows that name a user, moved by a merge (memberships and profiles move apart).
_USER_ROWS = (
    ("visitors", Visitor),
    ("sessions", Session),
    ("events", Event),
    ("identity_merges", IdentityMerge),
    ("consent_records", ConsentRecord),
)


class MergeError(ValueError):
    """A merge that cannot be made (the suggestion is not pending, or an account is gone)."""


def customers_frame(customers: list[CustomerData]) -> pd.DataFrame:
    """The adapter's customers as ``find_duplicates`` reads them (indexed by id, blanks as
    missing)."""
    frame = pd.DataFrame(
        [[getattr(c, name) or None for name in _FIELDS] for c in customers],
        index=pd.Index([c.id for c in customers], name="id"),
        columns=list(_FIELDS),
    )
    return frame


def _user_key(value: Any) -> Any:
    """The user primary key that ``value`` names; ValidationError when it cannot name one."""
    return get_user_model()._meta.pk.to_python(value)


def _with_user_ids(customers: list[CustomerData]) -> list[CustomerData]:
    """The customers whose id can be a user's primary key; the others are logged and left out."""
    kept, bad = [], []
    for customer in customers:
        try:
            _user_key(customer.id)
        except ValidationError:
            bad.append(customer.id)
        else:
            kept.append(customer)
    if bad:
        logger.warning(
            "Left %d customers out of de-duplication: their ids are not user ids (first: %r)",
            len(bad),
            bad[0],
        )
    return kept


def suggest_merges(threshold: float | None = None) -> int:
    """Create or refresh the pending merge suggestions; returns how many were created or
    updated.

    A pair already merged or dismissed is left alone (a dismissed pair is not suggested again);
    pairs naming an id that is not a user are skipped.
    """
    threshold = app_settings.DEDUP_THRESHOLD if threshold is None else threshold
    customers = _with_user_ids(list(get_adapter().iter_customers()))
    if len(customers) < 2:
        return 0
    found = find_duplicates(customers_frame(customers), threshold=threshold)
    users = set(
        get_user_model()
        .objects.filter(pk__in={_user_key(i) for s in found for i in (s.id_a, s.id_b)})
        .values_list("pk", flat=True)
    )
    existing = {
        (row.user_a_id, row.user_b_id): row
        for row in MergeSuggestion.objects.filter(user_a_id__in=users, user_b_id__in=users).only(
            "pk", "user_a_id", "user_b_id", "status", "score", "reasons"
        )
    }
    now = timezone.now()
    created, changed = [], []
    for suggestion in found:
        pair = sorted((_user_key(suggestion.id_a), _user_key(suggestion.id_b)))
        if pair[0] not in users or pair[1] not in users or pair[0] == pair[1]:
            continue
        score, reasons = round(float(suggestion.score), 4), list(suggestion.reasons)
        row = existing.get(tuple(pair))
        if row is None:
            created.append(
                MergeSuggestion(
                    user_a_id=pair[0],
                    user_b_id=pair[1],
                    score=score,
                    reasons=reasons,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif row.status == MergeSuggestion.PENDING and (row.score, row.reasons) != (score, reasons):
            row.score, row.reasons, row.updated_at = score, reasons, now
            changed.append(row)
    MergeSuggestion.objects.bulk_create(created, batch_size=1000, ignore_conflicts=True)
    MergeSuggestion.objects.bulk_update(changed, ["score", "reasons", "updated_at"], batch_size=500)
    return len(created) + len(changed)


def merge(suggestion: MergeSuggestion, by_user: Any, *, keep: Any = None) -> CustomerMerge:
    """Merge the suggestion's two accounts into one, atomically, and record it.

    ``keep`` is the primary key of the account that stays (default: ``user_a``, the older
    one). Raises :class:`MergeError` when the suggestion is no longer pending or ``keep`` is
    neither of its accounts.
    """
    try:
        keep = suggestion.user_a_id if keep is None else _user_key(keep)
    except ValidationError as error:
        raise MergeError(f"{keep!r} is not an account id") from error
    if keep not in (suggestion.user_a_id, suggestion.user_b_id):
        raise MergeError(f"user {keep} is not one of the suggestion's two accounts")
    source_id = suggestion.user_b_id if keep == suggestion.user_a_id else suggestion.user_a_id
    User = get_user_model()
    with transaction.atomic():
        locked = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
        if locked.status != MergeSuggestion.PENDING:
            raise MergeError(f"the suggestion is already {locked.get_status_display().lower()}")
        if User.objects.filter(pk__in=[keep, source_id]).count() != 2:
            raise MergeError("one of the two accounts no longer exists")
        moved = {
            name: model.objects.filter(user_id=source_id).update(user_id=keep)
            for name, model in _USER_ROWS
        }
        moved.update(move_person(("user", source_id), ("user", keep)))
        moved.update(
            {
                f"store_{name}": count
                for name, count in get_adapter().merge_customers(str(source_id), str(keep)).items()
            }
        )
        User.objects.filter(pk=source_id).update(is_active=False)
        now = timezone.now()
        reviewer = by_user.pk if by_user is not None else None
        MergeSuggestion.objects.filter(pk=suggestion.pk).update(
            status=MergeSuggestion.MERGED, reviewed_by_id=reviewer, reviewed_at=now, updated_at=now
        )
        record = CustomerMerge.objects.create(
            source_account=str(source_id),
            target_account=str(keep),
            source_id=source_id,
            target_id=keep,
            suggestion=suggestion,
            merged_by_id=reviewer,
            merged_at=now,
            moved=moved,
        )
        on_commit_robust(live.evaluate_person, ("user", keep))
    suggestion.refresh_from_db()
    logger.info("Merged user %s into user %s: %s", source_id, keep, moved)
    return record


def dismiss(suggestion: MergeSuggestion, by_user: Any) -> bool:
    """Mark a pending suggestion as not a duplicate; False when it was not pending."""
    now = timezone.now()
    done = MergeSuggestion.objects.filter(pk=suggestion.pk, status=MergeSuggestion.PENDING).update(
        status=MergeSuggestion.DISMISSED,
        reviewed_by_id=by_user.pk if by_user is not None else None,
        reviewed_at=now,
        updated_at=now,
    )
    suggestion.refresh_from_db()
    return bool(done)
