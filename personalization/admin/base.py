"""Building blocks for admin pages over tables the app writes and that grow large."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
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
