"""The merchant's back office for the demo shop."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest

from .models import (
    Cart,
    CartItem,
    Category,
    CustomerProfile,
    Order,
    OrderLine,
    Product,
    Review,
    WishlistItem,
)

LOW_STOCK = 5


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("out", "Sold out"), ("low", f"Low (1–{LOW_STOCK})"), ("ok", "In stock")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "out":
            return queryset.filter(stock=0)
        if self.value() == "low":
            return queryset.filter(stock__gte=1, stock__lte=LOW_STOCK)
        if self.value() == "ok":
            return queryset.filter(stock__gt=LOW_STOCK)
        return queryset


class OnSaleFilter(admin.SimpleListFilter):
    title = "on sale"
    parameter_name = "on_sale"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        on_sale = {"compare_at_price__isnull": False, "compare_at_price__gt": F("price")}
        if self.value() == "yes":
            return queryset.filter(**on_sale)
        if self.value() == "no":
            return queryset.exclude(**on_sale)
        return queryset


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "colour", "product_count"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_products=Count("products"))

    @admin.display(description="products", ordering="_products")
    def product_count(self, obj: Category) -> int:
        return obj._products


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "sku",
        "category",
        "brand",
        "price",
        "compare_at_price",
        "stock",
        "is_published",
        "created_at",
    ]
    # Price, stock and publication are edited straight in the list, many rows at once.
    list_editable = ["price", "compare_at_price", "stock", "is_published"]
    list_filter = ["is_published", StockFilter, OnSaleFilter, "category"]
    list_select_related = ["category"]
    list_per_page = 50
    search_fields = ["name", "sku", "brand", "tags", "description"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "created_at"
    actions = ["publish", "unpublish"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "sku", "category", "brand", "description", "tags"]}),
        ("Price and stock", {"fields": ["price", "compare_at_price", "stock", "is_published"]}),
        ("Presentation", {"fields": ["image_count", "created_at"]}),
    ]

    @admin.action(description="Publish the selected products")
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.message_user(request, f"{queryset.update(is_published=True)} products published.")

    @admin.action(description="Unpublish the selected products")
    def unpublish(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.message_user(request, f"{queryset.update(is_published=False)} products unpublished.")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity", "unit_price", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "user", "email", "created_at", "line_count", "total", "currency"]
    list_select_related = ["user"]
    list_filter = ["currency", "shipping_country"]
    search_fields = ["number", "email", "user__username", "shipping_name"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    readonly_fields = ["number", "created_at", "total", "currency"]
    inlines = [OrderLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_lines=Count("lines"))

    @admin.display(description="lines", ordering="_lines")
    def line_count(self, obj: Order) -> int:
        return obj._lines


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "user", "rating", "title", "created_at"]
    list_filter = ["rating"]
    list_select_related = ["product", "user"]
    search_fields = ["product__name", "user__username", "title", "body"]
    raw_id_fields = ["product", "user"]
    date_hierarchy = "created_at"


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["pk", "user", "session_key", "status", "item_count", "created_at", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["user__username", "session_key"]
    raw_id_fields = ["user"]
    date_hierarchy = "updated_at"
    inlines = [CartItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_items=Count("items"))

    @admin.display(description="lines", ordering="_items")
    def item_count(self, obj: Cart) -> int:
        return obj._items


@admin.register(WishlistItem)
class WishlistItemAdmin(admin.ModelAdmin):
    list_display = ["user", "product", "added_at"]
    list_select_related = ["user", "product"]
    search_fields = ["user__username", "product__name"]
    raw_id_fields = ["user", "product"]


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "city", "country", "birth_year", "external_id", "persona"]
    list_filter = ["persona", "country"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "external_id", "city", "postcode"]
    raw_id_fields = ["user"]
