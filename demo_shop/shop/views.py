"""Pages of the demo shop. Business operations live in ``services``."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Avg, Case, Count, F, Prefetch, Q, QuerySet, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag, url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from personalization import track

from . import services
from .forms import ProfileForm, ReviewForm, ShippingForm, SignUpForm
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
from .placeholders import placeholder_svg

PAGE_SIZE = 24
HOME_ROW = 8
FEATURED_PER_CATEGORY = 4
FEATURED_CACHE_KEY = "shop:featured-ids"
FEATURED_CACHE_SECONDS = 600
SORTS = {
    "name": ("Name", ("name", "pk")),
    "price": ("Price: low to high", ("price", "name", "pk")),
    "-price": ("Price: high to low", ("-price", "name", "pk")),
    "newest": ("Newest", ("-created_at", "-pk")),
}
DEFAULT_SORT = "name"
# Hidden field in which tracker.js posts the id of the event it sent for a form's action.
TRACKER_EVENT_FIELD = "p13n_event_id"


def _published() -> QuerySet[Product]:
    return Product.objects.filter(is_published=True).select_related("category")


def _redirect_back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Redirect to the form's ``next`` if it is a safe local URL, else to ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def _quantity(request: HttpRequest, default: int) -> int:
    try:
        return int(request.POST.get("quantity", default))
    except (TypeError, ValueError):
        return default


def _featured_ids() -> dict[int, list[int]]:
    """Best sellers (by number of orders) per category id; cached because it scans order lines."""
    featured = cache.get(FEATURED_CACHE_KEY)
    if featured is None:
        featured = defaultdict(list)
        rows = (
            Product.objects.filter(is_published=True, stock__gt=0)
            .annotate(sold=Count("order_lines"))
            .order_by("category_id", "-sold", "name")
            .values_list("pk", "category_id")
        )
        for pk, category_id in rows:
            if len(featured[category_id]) < FEATURED_PER_CATEGORY:
                featured[category_id].append(pk)
        featured = dict(featured)
        cache.set(FEATURED_CACHE_KEY, featured, FEATURED_CACHE_SECONDS)
    return featured


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    featured_ids = _featured_ids()
    products = _published().in_bulk([pk for ids in featured_ids.values() for pk in ids])
    by_category = [
        (category, [products[pk] for pk in featured_ids.get(category.pk, []) if pk in products])
        for category in Category.objects.all()
    ]
    return render(
        request,
        "shop/home.html",
        {
            "new_products": _published().order_by("-created_at", "-pk")[:HOME_ROW],
            "sale_products": _published()
            .filter(compare_at_price__isnull=False, compare_at_price__gt=F("price"))
            .order_by("-created_at", "-pk")[:HOME_ROW],
            "featured_by_category": [(c, ps) for c, ps in by_category if ps],
        },
    )


@require_GET
def category(request: HttpRequest, slug: str) -> HttpResponse:
    category = get_object_or_404(Category, slug=slug)
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    products = _published().filter(category=category).order_by(*SORTS[sort][1])
    return render(
        request,
        "shop/category.html",
        {
            "category": category,
            "page": Paginator(products, PAGE_SIZE).get_page(request.GET.get("page")),
            "sort": sort,
            "sorts": [(key, label) for key, (label, _) in SORTS.items()],
            "list_name": f"category:{category.slug}",
        },
    )


def _product_page(
    request: HttpRequest, product: Product, review_form: ReviewForm | None = None
) -> HttpResponse:
    reviews = product.reviews.select_related("user")
    stats = reviews.aggregate(average=Avg("rating"), count=Count("pk"))
    in_wishlist = False
    own_review = None
    if request.user.is_authenticated:
        in_wishlist = WishlistItem.objects.filter(user=request.user, product=product).exists()
        own_review = reviews.filter(user=request.user).first()
        if review_form is None:
            review_form = ReviewForm(instance=own_review)
    return render(
        request,
        "shop/product.html",
        {
            "product": product,
            "images": [
                (n, product.image_url(n)) for n in range(1, max(product.image_count, 1) + 1)
            ],
            "reviews": reviews[:20],
            "review_average": stats["average"],
            "review_count": stats["count"],
            "review_form": review_form,
            "own_review": own_review,
            "in_wishlist": in_wishlist,
        },
    )


@require_GET
def product(request: HttpRequest, slug: str) -> HttpResponse:
    return _product_page(request, get_object_or_404(_published(), slug=slug))


@require_GET
@cache_control(public=True, max_age=60 * 60 * 24)
def product_image(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    product = get_object_or_404(_published(), slug=slug)
    total = max(product.image_count, 1)
    if not 1 <= number <= total:
        raise Http404("No such picture.")
    svg = placeholder_svg(product.name, product.category.colour, number, total)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["ETag"] = quote_etag(hashlib.sha256(svg.encode()).hexdigest()[:32])
    # Opened on its own, an SVG is a document; it must never run or load anything.
    response["Content-Security-Policy"] = "default-src 'none'"
    return get_conditional_response(request, etag=response["ETag"], response=response)


@login_required
@require_POST
def review(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(_published(), slug=slug)
    existing = Review.objects.filter(product=product, user=request.user).first()
    form = ReviewForm(request.POST, instance=existing)
    if not form.is_valid():
        return _product_page(request, product, review_form=form)
    review = form.save(commit=False)
    review.product = product
    review.user = request.user
    review.save()
    messages.success(request, "Thank you for your review.")
    return redirect(product.get_absolute_url() + "#reviews")


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = " ".join(request.GET.get("q", "").split())[:100]
    results = Product.objects.none()
    if query:
        # Every word must match somewhere; products whose name holds the whole query come first.
        condition = Q()
        for term in query.split()[:8]:
            condition &= (
                Q(name__icontains=term)
                | Q(description__icontains=term)
                | Q(brand__icontains=term)
                | Q(tags__icontains=term)
                | Q(category__name__icontains=term)
            )
        results = (
            _published()
            .filter(condition)
            .annotate(name_match=Case(When(name__icontains=query, then=0), default=1))
            .order_by("name_match", "name", "pk")
        )
    return render(
        request,
        "shop/search.html",
        {
            "query": query,
            "page": Paginator(results, PAGE_SIZE).get_page(request.GET.get("page")),
        },
    )


# --- cart ------------------------------------------------------------------------------------


def _cart_lines(cart: Cart | None) -> list[CartItem]:
    if cart is None:
        return []
    return list(cart.items.select_related("product__category").order_by("added_at", "pk"))


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    items = _cart_lines(services.get_cart(request))
    return render(
        request,
        "shop/cart.html",
        {
            "items": items,
            "total": sum((item.line_total for item in items), Decimal("0")),
            "unavailable": [
                item
                for item in items
                if not item.product.is_published or item.product.stock < item.quantity
            ],
        },
    )


@require_POST
def cart_add(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id, is_published=True)
    cart = services.get_cart(request, create=True)
    try:
        item, capped = services.add_to_cart(cart, product, _quantity(request, 1))
    except services.OutOfStock:
        messages.error(request, f"Sorry, {product.name} is sold out.")
        return _redirect_back(request, product.get_absolute_url())
    track(
        request,
        "add_to_cart",
        product,
        event_id=request.POST.get(TRACKER_EVENT_FIELD),
        quantity=_quantity(request, 1),
        price=product.price,
    )
    messages.success(request, f"Added {product.name} to your cart.")
    if capped:
        messages.warning(
            request,
            f"Only {product.stock} of {product.name} in stock; your cart holds {item.quantity}.",
        )
    return _redirect_back(request, reverse("shop:cart"))


@require_POST
def cart_update(request: HttpRequest, product_id: int) -> HttpResponse:
    cart = services.get_cart(request)
    product = get_object_or_404(Product, pk=product_id)
    if cart is not None:
        item = services.set_quantity(cart, product, _quantity(request, 1))
        if item is None:
            messages.success(request, f"Removed {product.name} from your cart.")
        elif item.quantity < _quantity(request, 1):
            messages.warning(request, f"You can order at most {item.quantity} of {product.name}.")
    return _redirect_back(request, reverse("shop:cart"))


@require_POST
def cart_remove(request: HttpRequest, product_id: int) -> HttpResponse:
    cart = services.get_cart(request)
    product = get_object_or_404(Product, pk=product_id)
    if cart is not None and services.remove_from_cart(cart, product):
        track(request, "remove_from_cart", product, event_id=request.POST.get(TRACKER_EVENT_FIELD))
        messages.success(request, f"Removed {product.name} from your cart.")
    return _redirect_back(request, reverse("shop:cart"))


@login_required
def checkout(request: HttpRequest) -> HttpResponse:
    cart = services.get_cart(request)
    items = _cart_lines(cart)
    if not items:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart")
    if request.method == "POST":
        form = ShippingForm(request.POST)
        if form.is_valid():
            try:
                order = services.place_order(request.user, cart, form.shipping())
            except services.CheckoutError as exc:
                messages.error(request, str(exc))
                return redirect("shop:cart")
            track(
                request,
                "purchase",
                order_id=order.number,
                revenue=order.total,
                currency=order.currency,
                lines=[
                    {
                        "product_id": str(line.product_id),
                        "quantity": line.quantity,
                        "amount": line.line_total,
                    }
                    for line in order.lines.all()
                ],
            )
            if form.cleaned_data["remember"]:
                services.remember_address(request.user, form.shipping())
            messages.success(request, f"Thank you! Your order {order.number} is placed.")
            return redirect("shop:order", order.number)
    else:
        track(request, "checkout_start", value=sum(item.line_total for item in items))
        profile = CustomerProfile.objects.filter(user=request.user).first()
        form = ShippingForm(initial=ShippingForm.initial_for(request.user, profile))
    return render(
        request,
        "shop/checkout.html",
        {
            "form": form,
            "items": items,
            "total": sum((item.line_total for item in items), Decimal("0")),
        },
    )


@login_required
@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    lines = OrderLine.objects.select_related("product__category").order_by("pk")
    order = get_object_or_404(
        Order.objects.prefetch_related(Prefetch("lines", queryset=lines)),
        number=number,
        user=request.user,
    )
    return render(request, "shop/order_detail.html", {"order": order})


# --- wishlist and account --------------------------------------------------------------------


@login_required
@require_GET
def wishlist(request: HttpRequest) -> HttpResponse:
    items = WishlistItem.objects.filter(
        user=request.user, product__is_published=True
    ).select_related("product__category")
    return render(request, "shop/wishlist.html", {"items": items})


@login_required
@require_POST
def wishlist_toggle(request: HttpRequest, product_id: int) -> HttpResponse:
    product = get_object_or_404(Product, pk=product_id)
    event_id = request.POST.get(TRACKER_EVENT_FIELD)
    if services.toggle_wishlist(request.user, product):
        track(request, "wishlist_add", product, event_id=event_id)
        messages.success(request, f"Saved {product.name} to your wishlist.")
    else:
        track(request, "wishlist_remove", product, event_id=event_id)
        messages.success(request, f"Removed {product.name} from your wishlist.")
    return _redirect_back(request, product.get_absolute_url())


@login_required
def account(request: HttpRequest) -> HttpResponse:
    # An unsaved profile for customers without one: the form creates it on the first save.
    profile = CustomerProfile.objects.filter(user=request.user).first() or CustomerProfile(
        user=request.user
    )
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your details are saved.")
        return redirect("shop:account")
    orders = request.user.orders.annotate(line_count=Count("lines")).order_by("-created_at")
    return render(
        request,
        "shop/account.html",
        {
            "form": form,
            "orders": Paginator(orders, 20).get_page(request.GET.get("page")),
            "wishlist_count": WishlistItem.objects.filter(user=request.user).count(),
        },
    )


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("shop:account")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        CustomerProfile.objects.create(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return _redirect_back(request, reverse("shop:account"))
    next_url = request.POST.get("next") or request.GET.get("next", "")
    return render(request, "shop/signup.html", {"form": form, "next": next_url})


class ShopLoginView(LoginView):
    template_name = "shop/login.html"
    redirect_authenticated_user = True


class ShopLogoutView(LogoutView):
    """Log-out by POST only (Django's default), from the form in the header."""
