"""The current policy version and the banner's categories, cached and cleared on save/delete.

The gate asks for the current version on every request that carries a consent cookie, and the
banner renders the categories on every page, so both are read from the cache; the receivers at the
bottom clear it when the merchant saves or deletes a policy or a category (after the transaction
commits, so that no request caches the old value in between). The entries also expire after
:data:`CACHE_TIMEOUT` seconds, which bounds how long processes with a cache of their own
(``LocMemCache``) go on using an old value; and a policy published for a later time becomes
current when its time comes, because the version's cache entry expires then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Min
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import CONSENT_CATEGORIES
from ..models.consent import ConsentCategory, ConsentPolicy
from .defaults import DEFAULT_DESCRIPTIONS, DEFAULT_NAMES

VERSION_CACHE_KEY = "p13n:consent:policy-version"
CATEGORIES_CACHE_KEY = "p13n:consent:categories"
CACHE_TIMEOUT = 300
# With no policy in the database, this version is current.
DEFAULT_VERSION = 1


def cached_policy_version() -> int | None:
    """The current version if the cache holds it (no database access), else None."""
    return cache.get(VERSION_CACHE_KEY)


def current_policy_version() -> int:
    """The version of the newest published policy (:data:`DEFAULT_VERSION` when there is none)."""
    version = cache.get(VERSION_CACHE_KEY)
    if version is None:
        now = timezone.now()
        policies = ConsentPolicy.objects.all()
        version = (
            policies.filter(published_at__lte=now).aggregate(v=Max("version"))["v"]
            or DEFAULT_VERSION
        )
        timeout = CACHE_TIMEOUT
        scheduled = policies.filter(published_at__gt=now).aggregate(at=Min("published_at"))["at"]
        if scheduled is not None:
            timeout = max(1, min(timeout, int((scheduled - now).total_seconds()) + 1))
        cache.set(VERSION_CACHE_KEY, version, timeout)
    return version


@dataclass(frozen=True)
class BannerCategory:
    """A category as the banner shows it."""

    slug: str
    name: str
    description: str

    @property
    def necessary(self) -> bool:
        return self.slug == "necessary"


def _translated(text: str, default: str) -> str:
    # Wording the merchant left as installed is shown in the visitor's language.
    return _(default) if text == default else text


def banner_categories() -> list[BannerCategory]:
    """Every category, ``necessary`` first, then in the merchant's order.

    The rows are cached as stored; the installed wording is translated for each request. A
    category without a row (deleted from the database) is shown with its installed wording.
    """
    rows = cache.get(CATEGORIES_CACHE_KEY)
    if rows is None:
        rows = list(ConsentCategory.objects.values_list("slug", "name", "description"))
        cache.set(CATEGORIES_CACHE_KEY, rows, CACHE_TIMEOUT)
    stored = {slug: (name, description) for slug, name, description in rows}
    slugs = [slug for slug, _name, _description in rows if slug in CONSENT_CATEGORIES]
    slugs += [slug for slug in CONSENT_CATEGORIES if slug not in stored]
    slugs.sort(key=lambda slug: slug != "necessary")
    categories = []
    for slug in slugs:
        name, description = stored.get(slug, (DEFAULT_NAMES[slug], DEFAULT_DESCRIPTIONS[slug]))
        categories.append(
            BannerCategory(
                slug=slug,
                name=_translated(name, DEFAULT_NAMES[slug]),
                description=_translated(description, DEFAULT_DESCRIPTIONS[slug]),
            )
        )
    return categories


def clear_policy_cache() -> None:
    """Forget the cached version (done after any policy is saved or deleted)."""
    cache.delete(VERSION_CACHE_KEY)


def clear_categories_cache() -> None:
    """Forget the cached categories (done after any category is saved or deleted)."""
    cache.delete(CATEGORIES_CACHE_KEY)


@receiver(post_save, sender=ConsentPolicy, dispatch_uid="p13n.consent.policy_saved")
@receiver(post_delete, sender=ConsentPolicy, dispatch_uid="p13n.consent.policy_deleted")
def _policy_changed(**kwargs: Any) -> None:
    clear_policy_cache()
    transaction.on_commit(clear_policy_cache)


@receiver(post_save, sender=ConsentCategory, dispatch_uid="p13n.consent.category_saved")
@receiver(post_delete, sender=ConsentCategory, dispatch_uid="p13n.consent.category_deleted")
def _category_changed(**kwargs: Any) -> None:
    clear_categories_cache()
    transaction.on_commit(clear_categories_cache)
