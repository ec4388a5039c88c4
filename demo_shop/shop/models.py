"""The demo store's catalog, carts, wishlists, reviews and orders."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    colour = models.CharField(
        max_length=7, default="#4a6fa5", help_text="Placeholder image colour."
    )

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:category", args=[self.slug])


class Product(models.Model):
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    compare_at_price = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Was-price when on sale."
    )
    stock = models.PositiveIntegerField(default=0)
    is_published = models.BooleanField(default=True)
    tags = models.CharField(max_length=300, blank=True, help_text="Comma-separated.")
    image_count = models.PositiveSmallIntegerField(default=3)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["category", "is_published"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product", args=[self.slug])

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def on_sale(self) -> bool:
        return self.compare_at_price is not None and self.compare_at_price > self.price

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    def image_url(self, number: int = 1) -> str:
        return reverse("shop:product_image", args=[self.slug, number])


class CustomerProfile(models.Model):
    """Account attributes the store keeps about a customer."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer"
    )
    phone = models.CharField(max_length=32, blank=True)
    address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=64, blank=True)
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    external_id = models.CharField(
        max_length=32, blank=True, db_index=True, help_text="Customer id in an imported data set."
    )
    persona = models.CharField(
        max_length=32,
        blank=True,
        help_text="Behaviour the demo generator gave this customer (ground truth for evaluation).",
    )

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(max_length=120, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="one_review_per_user")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.rating}★ {self.product} by {self.user}"


class WishlistItem(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wishlist"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "product"], name="wishlist_once")]
        ordering = ["-added_at"]

    def __str__(self) -> str:
        return f"{self.product} in {self.user}'s wishlist"


class Cart(models.Model):
    """A shopping cart; anonymous carts are keyed by the Django session and adopted at log-in."""

    OPEN, ORDERED, ABANDONED = "open", "ordered", "abandoned"
    STATUSES = [(OPEN, "Open"), (ORDERED, "Ordered"), (ABANDONED, "Abandoned")]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carts",
    )
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Cart {self.pk} ({self.status})"

    @property
    def total(self) -> Decimal:
        return sum((item.line_total for item in self.items.all()), Decimal("0"))

    @property
    def quantity(self) -> int:
        return sum(item.quantity for item in self.items.all())


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cart_product_once")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    currency = models.CharField(max_length=3, default="GBP")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    shipping_name = models.CharField(max_length=120, blank=True)
    shipping_address = models.CharField(max_length=200, blank=True)
    shipping_city = models.CharField(max_length=100, blank=True)
    shipping_postcode = models.CharField(max_length=16, blank=True)
    shipping_country = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Order {self.number}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        indexes = [models.Index(fields=["product", "order"])]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id} in {self.order_id}"
