"""Customer personas: the behaviour the simulation gives each kind of customer.

The persona is stored on ``CustomerProfile.persona`` as ground truth, so segmentation can be judged
by how well it recovers them. Rates are per viewed product or per session; the simulation scales
them by each customer's own activity level and tastes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .catalog import BUDGET, MAINSTREAM, PREMIUM


@dataclass(frozen=True)
class Persona:
    name: str
    weight: float
    sessions_per_month: float
    views_per_session: float
    # Chance that a viewed product goes into the cart (before tier, sale and stock effects).
    cart_rate: float
    # Chance that a session with a full cart reaches checkout, and that a checkout completes.
    checkout_rate: float
    purchase_rate: float
    # Price band the customer prefers; None draws one per customer.
    preferred_tier: int | None
    # How sharply interest falls for products outside the preferred band (0 = indifferent).
    tier_strictness: float
    # Log-scale boost of on-sale products when choosing what to look at and what to buy.
    sale_affinity: float
    # Below 1 favours cheaper products within a type when deciding to buy (bargain hunters).
    price_elasticity: float
    # Share of browsing spent in the favourite categories, and how many favourites there are.
    favourite_share: float
    favourites: int
    wishlist_rate: float
    search_rate: float
    login_rate: float
    # Chance a session starts by buying a consumable again (coffee, nappies, strings, ...).
    rebuy_rate: float
    # Chance to follow a "goes well with" suggestion after viewing a product.
    complement_rate: float
    review_rate: float
    # Share of the data window during which the customer is active.
    active: str = "year"

    def active_window(self, rng: random.Random, days: float) -> tuple[float, float]:
        """The (start, end) of activity in days from the window start."""
        if self.active == "recent":
            span = min(days, rng.uniform(10, 42))
            return days - span, days
        if self.active == "early":
            return 0.0, days * rng.uniform(0.2, 0.45)
        # Most customers predate the window; the others sign up during it.
        start = 0.0 if rng.random() < 0.72 else rng.uniform(0, days * 0.75)
        return start, days


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="bargain_hunter",
        weight=0.15,
        sessions_per_month=1.7,
        views_per_session=5.0,
        cart_rate=0.12,
        checkout_rate=0.6,
        purchase_rate=0.82,
        preferred_tier=BUDGET,
        tier_strictness=1.3,
        sale_affinity=1.8,
        price_elasticity=0.45,
        favourite_share=0.45,
        favourites=2,
        wishlist_rate=0.05,
        search_rate=0.5,
        login_rate=0.75,
        rebuy_rate=0.15,
        complement_rate=0.2,
        review_rate=0.08,
    ),
    Persona(
        name="loyal_big_spender",
        weight=0.08,
        sessions_per_month=2.4,
        views_per_session=3.2,
        cart_rate=0.3,
        checkout_rate=0.85,
        purchase_rate=0.93,
        preferred_tier=PREMIUM,
        tier_strictness=1.5,
        sale_affinity=-0.2,
        price_elasticity=1.5,
        favourite_share=0.55,
        favourites=2,
        wishlist_rate=0.05,
        search_rate=0.25,
        login_rate=0.95,
        rebuy_rate=0.2,
        complement_rate=0.4,
        review_rate=0.14,
    ),
    Persona(
        name="window_shopper",
        weight=0.14,
        sessions_per_month=2.4,
        views_per_session=5.5,
        cart_rate=0.03,
        checkout_rate=0.2,
        purchase_rate=0.35,
        preferred_tier=None,
        tier_strictness=0.5,
        sale_affinity=0.2,
        price_elasticity=1.0,
        favourite_share=0.35,
        favourites=2,
        wishlist_rate=0.1,
        search_rate=0.35,
        login_rate=0.55,
        rebuy_rate=0.0,
        complement_rate=0.25,
        review_rate=0.05,
    ),
    Persona(
        name="category_fan",
        weight=0.14,
        sessions_per_month=1.5,
        views_per_session=4.0,
        cart_rate=0.13,
        checkout_rate=0.6,
        purchase_rate=0.85,
        preferred_tier=None,
        tier_strictness=0.8,
        sale_affinity=0.2,
        price_elasticity=1.0,
        favourite_share=0.93,
        favourites=1,
        wishlist_rate=0.06,
        search_rate=0.3,
        login_rate=0.85,
        rebuy_rate=0.2,
        complement_rate=0.08,
        review_rate=0.15,
    ),
    Persona(
        name="new_visitor",
        weight=0.09,
        sessions_per_month=3.0,
        views_per_session=3.0,
        cart_rate=0.08,
        checkout_rate=0.5,
        purchase_rate=0.7,
        preferred_tier=None,
        tier_strictness=0.6,
        sale_affinity=0.3,
        price_elasticity=1.0,
        favourite_share=0.5,
        favourites=2,
        wishlist_rate=0.03,
        search_rate=0.35,
        login_rate=0.7,
        rebuy_rate=0.0,
        complement_rate=0.2,
        review_rate=0.05,
        active="recent",
    ),
    Persona(
        name="occasional",
        weight=0.30,
        sessions_per_month=0.85,
        views_per_session=3.0,
        cart_rate=0.12,
        checkout_rate=0.55,
        purchase_rate=0.8,
        preferred_tier=None,
        tier_strictness=0.7,
        sale_affinity=0.3,
        price_elasticity=1.0,
        favourite_share=0.5,
        favourites=2,
        wishlist_rate=0.04,
        search_rate=0.3,
        login_rate=0.75,
        rebuy_rate=0.1,
        complement_rate=0.25,
        review_rate=0.1,
    ),
    Persona(
        name="churned",
        weight=0.10,
        sessions_per_month=1.8,
        views_per_session=3.5,
        cart_rate=0.13,
        checkout_rate=0.55,
        purchase_rate=0.8,
        preferred_tier=None,
        tier_strictness=0.7,
        sale_affinity=0.3,
        price_elasticity=1.0,
        favourite_share=0.5,
        favourites=2,
        wishlist_rate=0.04,
        search_rate=0.3,
        login_rate=0.8,
        rebuy_rate=0.15,
        complement_rate=0.25,
        review_rate=0.1,
        active="early",
    ),
)

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
BY_NAME: dict[str, Persona] = {p.name: p for p in PERSONAS}

# Visitors who never log in behave like occasional customers without an account.
ANONYMOUS = Persona(
    name="",
    weight=0.0,
    sessions_per_month=0.0,
    views_per_session=2.6,
    cart_rate=0.06,
    checkout_rate=0.0,
    purchase_rate=0.0,
    preferred_tier=MAINSTREAM,
    tier_strictness=0.3,
    sale_affinity=0.3,
    price_elasticity=1.0,
    favourite_share=0.3,
    favourites=1,
    wishlist_rate=0.0,
    search_rate=0.25,
    login_rate=0.0,
    rebuy_rate=0.0,
    complement_rate=0.15,
    review_rate=0.0,
)


def allocate(rng: random.Random, count: int) -> list[Persona]:
    """``count`` personas in exact proportion to their weights (largest remainder), shuffled."""
    total = sum(p.weight for p in PERSONAS)
    quotas = [count * p.weight / total for p in PERSONAS]
    numbers = [int(q) for q in quotas]
    by_remainder = sorted(range(len(PERSONAS)), key=lambda i: quotas[i] - numbers[i], reverse=True)
    for i in by_remainder[: count - sum(numbers)]:
        numbers[i] += 1
    personas = [p for p, n in zip(PERSONAS, numbers, strict=True) for _ in range(n)]
    rng.shuffle(personas)
    return personas
