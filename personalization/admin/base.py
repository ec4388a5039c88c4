"""Building blocks for admin pages over tables the app writes and that grow large."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


class LargeTablePaginator(Paginator):
    """A paginator that does not count a whole big table on every page.

    On PostgreSQL an unfiltered list takes its total from the planner's row estimate (kept fresh
    by autovacuum) once the table holds more than :attr:`estimate_above` rows; filtered lists and
    other databases count exactly.
    """

    estimate_above = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            connection = connections[queryset.db]
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                        [connection.ops.quote_name(queryset.model._meta.db_table)],
                    )
                    row = cursor.fetchone()
                if row and row[0] > self.estimate_above:
                    return int(row[0])
        return super().count


def _span(first: dt.datetime, last: dt.datetime, kind: str) -> Iterator[dt.datetime]:
    tz = first.tzinfo
    if kind == "year":
        for year in range(first.year, last.year + 1):
            yield dt.datetime(year, 1, 1, tzinfo=tz)
    elif kind == "month":
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            yield dt.datetime(year, month, 1, tzinfo=tz)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    else:
        day = first.date()
        while day <= last.date():
            yield dt.datetime(day.year, day.month, day.day, tzinfo=tz)
            day += dt.timedelta(days=1)


class SpanDatesQuerySet(QuerySet):
    """A queryset whose ``datetimes()`` spans the first to the last value.

    The admin's date hierarchy lists the years (months, days) that hold rows with a
    ``SELECT DISTINCT`` over every row, which reads a whole events table. Here the bounds come
    from ``MIN``/``MAX`` (an index lookup) and every year, month or day between them is listed,
    including the odd one without rows.
    """

    def datetimes(  # type: ignore[override]
        self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None
    ) -> list[dt.datetime]:
        if kind not in ("year", "month", "day"):
            return list(super().datetimes(field_name, kind, order, tzinfo))
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        first, last = (
            timezone.localtime(value, tzinfo) if timezone.is_aware(value) else value
            for value in (bounds["first"], bounds["last"])
        )
        values = list(_span(first, last, kind))
        return values if order == "ASC" else values[::-1]


class LargeTableChangeList(ChangeList):
    """A change list whose date hierarchy reads index bounds instead of every row."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        queryset = super().get_queryset(request, exclude_parameters)
        return SpanDatesQuerySet(
            model=queryset.model, query=queryset.query, using=queryset._db, hints=queryset._hints
        )


class SignedInFilter(admin.SimpleListFilter):
    """Whether the row belongs to a known customer (a user) or to an anonymous visitor."""

    title = _("customer")
    parameter_name = "signed_in"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Known customer")), ("no", _("Anonymous"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(user__isnull=self.value() == "no")
        return queryset


class WrittenByTrackingAdmin(admin.ModelAdmin):
    """Rows written by the tracking pipeline: viewable, never added or edited in the admin.

    Superusers may delete (for example to honour an erasure request by hand).
    """

    paginator = LargeTablePaginator
    show_full_result_count = False
    list_per_page = 50

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LargeTableChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser


class IndexedSearchMixin:
    """Search by exact visitor id, user name or e-mail (and other exact ids), through indexes.

    Django's default search ORs ``icontains`` over every search field, which reads a whole
    events table. Here the small lookups (visitors, users) run first and the big table is then
    filtered by foreign keys, each of which has an index.
    """

    # Lookup from the admin's model to the Visitor ("pk" on the Visitor admin), or "".
    search_visitor_field = "visitor"
    search_user_field = "user"
    # Further fields compared exactly with the search term, e.g. ("product_id",).
    search_exact_fields: tuple[str, ...] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        from ..models import Visitor

        term = search_term.strip()
        if not term:
            return queryset, False
        user_model = get_user_model()
        users = user_model._default_manager.filter(
            Q(**{f"{user_model.USERNAME_FIELD}__iexact": term})
            | Q(**{f"{user_model.get_email_field_name()}__iexact": term})
        )
        query = Q(**{f"{self.search_user_field}__in": list(users.values_list("pk", flat=True))})
        if self.search_visitor_field:
            visitor_ids = list(Visitor.objects.filter(vid=term).values_list("pk", flat=True))
            query |= Q(**{f"{self.search_visitor_field}__in": visitor_ids})
        for field_name in self.search_exact_fields:
            query |= Q(**{field_name: term})
        return queryset.filter(query), False


class ViewOnlyAdmin(admin.ModelAdmin):
    """Rows the app writes and keeps as a record: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
