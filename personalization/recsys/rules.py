"""Business rules applied to a ranking at serve time (Django-free, pure functions).

A *ranking* is a list of ``(item_id, score)`` pairs, best first, as the models return them. The
serving layer (``personalization.recommendations.serving``) gathers what the rules need (product
data, the cart, purchases, "not interested" feedback, the ids already shown on the page) and calls
:func:`apply_rules`, which runs the steps below in this order:

1. :func:`blend` (done by the caller before): weighted reciprocal-rank fusion of several rankings,
   e.g. the person's precomputed list with the neighbours of what this session viewed.
2. :func:`drop_excluded`: the product being viewed, the cart, purchases, dismissed products, ids
   shown by earlier widgets of the page.
3. :func:`drop_unavailable`: unknown, unpublished and out-of-stock products.
4. :func:`apply_boosts`: multiply scores by the boosts of the visitor's segments, then re-sort.
5. Diversity: :func:`mmr` (maximal marginal relevance) when a lambda is set, then
   :func:`cap_per_category`; both keep the first ``k``.

Products are any objects with the attributes of ``personalization.adapters.ProductData``
(``published``, ``in_stock``, ``category``, ``brand``, ``tags``, and whatever a boost names).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

Ranking = list[tuple[Hashable, float]]

#: Constant of reciprocal-rank fusion (Cormack et al. use 60 for long lists; top-N lists of a
#: few dozen items need a smaller one so that the first ranks still weigh clearly more).
RRF_K = 10


def blend(rankings: Iterable[tuple[Sequence[tuple[Hashable, float]], float]]) -> Ranking:
    """Weighted reciprocal-rank fusion: ``score(i) = Σ weight / (RRF_K + rank(i))``.

    Ranks rather than raw scores, because the lists come from models whose scores have unrelated
    scales (EASE, cosine similarities, decayed counts). Rankings with a weight ≤ 0 are ignored.
    Ties keep the order in which items were first met.
    """
    scores: dict[Hashable, float] = {}
    for ranking, weight in rankings:
        if weight <= 0:
            continue
        for rank, (item, _score) in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (RRF_K + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def drop_excluded(ranking: Iterable[tuple[Hashable, float]], excluded: Collection[Any]) -> Ranking:
    """The ranking without the ids in ``excluded``, and without repeated ids."""
    seen = set(excluded)
    kept = []
    for item, score in ranking:
        if item not in seen:
            seen.add(item)
            kept.append((item, score))
    return kept


def is_available(product: Any) -> bool:
    """Whether a product may be recommended: it exists, is published and is in stock."""
    return product is not None and bool(product.published) and bool(product.in_stock)


def drop_unavailable(
    ranking: Iterable[tuple[Hashable, float]], products: Mapping[Any, Any]
) -> Ranking:
    """The ranking without products that are unknown to ``products``, unpublished or sold out."""
    return [(item, score) for item, score in ranking if is_available(products.get(item))]


def segment_boosts(
    segments: Iterable[str] | None, config: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """The boosts that apply to a visitor in ``segments``: ``{condition: factor}``.

    ``config`` maps a segment slug to its boosts (the ``RECOMMENDATION_SEGMENT_BOOSTS`` setting).
    When several segments boost the same condition their factors multiply.
    """
    merged: dict[str, float] = {}
    for slug in sorted(set(segments or ())):
        for condition, factor in (config.get(slug) or {}).items():
            merged[condition] = merged.get(condition, 1.0) * float(factor)
    return merged


def matches(product: Any, condition: str) -> bool:
    """Whether ``product`` meets a boost condition.

    ``"category:<name>"``, ``"brand:<name>"`` and ``"tag:<tag>"`` compare without case; any other
    condition names a product attribute that must be truthy (``"on_sale"``, ``"in_stock"``).
    """
    field, sep, value = condition.partition(":")
    if sep:
        wanted = value.strip().casefold()
        if field == "tag":
            return any(str(tag).casefold() == wanted for tag in getattr(product, "tags", ()))
        if field in ("category", "brand"):
            return str(getattr(product, field, "")).casefold() == wanted
        return False
    return bool(getattr(product, condition, False))


def apply_boosts(
    ranking: Iterable[tuple[Hashable, float]],
    products: Mapping[Any, Any],
    boosts: Mapping[str, float],
) -> Ranking:
    """Multiply each score by the factors of the conditions its product meets; re-sort.

    Without boosts the ranking is returned unchanged (as a list). The sort is stable, so items
    whose scores tie keep their order.
    """
    ranking = list(ranking)
    if not boosts:
        return ranking
    boosted = []
    for item, score in ranking:
        product = products.get(item)
        factor = 1.0
        if product is not None:
            for condition, value in boosts.items():
                if matches(product, condition):
                    factor *= value
        boosted.append((item, score * factor))
    return sorted(boosted, key=lambda pair: -pair[1])


def cap_per_category(
    ranking: Iterable[tuple[Hashable, float]],
    products: Mapping[Any, Any],
    max_per_category: int | None,
    k: int,
) -> Ranking:
    """The first ``k`` items with at most ``max_per_category`` of any one category.

    Items over the cap are skipped, not moved down, so the list may come out shorter than ``k``
    when the candidates are too uniform. Products without a category are not capped.
    """
    if max_per_category is None or max_per_category <= 0:
        return list(ranking)[:k]
    counts: Counter[str] = Counter()
    kept = []
    for item, score in ranking:
        if len(kept) >= k:
            break
        category = getattr(products.get(item), "category", "") or ""
        if category:
            if counts[category] >= max_per_category:
                continue
            counts[category] += 1
        kept.append((item, score))
    return kept


def attribute_similarity(a: Any, b: Any) -> float:
    """A cheap similarity of two products for MMR: 1 for the same category and brand, 0.6 for
    the same category, 0.3 for the same brand, else 0."""
    if a is None or b is None:
        return 0.0
    same_category = bool(a.category) and a.category == b.category
    same_brand = bool(a.brand) and a.brand == b.brand
    if same_category:
        return 1.0 if same_brand else 0.6
    return 0.3 if same_brand else 0.0


def mmr(
    ranking: Sequence[tuple[Hashable, float]],
    products: Mapping[Any, Any],
    lam: float,
    k: int,
    similarity: Callable[[Any, Any], float] = attribute_similarity,
) -> Ranking:
    """Maximal marginal relevance (Carbonell & Goldstein, 1998): pick ``k`` items greedily by
    ``lam · relevance − (1 − lam) · max similarity to the items already picked``.

    Relevance is the score scaled to [0, 1] over the candidates, so ``lam`` means the same for
    every model. ``lam = 1`` keeps the ranking's order; smaller values trade relevance for variety.
    Returned scores are the original ones.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"the MMR lambda must be between 0 and 1, got {lam}")
    candidates = list(ranking)
    if not candidates or k <= 0:
        return []
    scores = [score for _, score in candidates]
    low, high = min(scores), max(scores)
    spread = high - low
    relevance = [(s - low) / spread if spread > 0 else 1.0 for s in scores]
    max_sim = [0.0] * len(candidates)
    remaining = list(range(len(candidates)))
    picked: list[int] = []
    while remaining and len(picked) < k:
        best = max(remaining, key=lambda i: (lam * relevance[i] - (1 - lam) * max_sim[i], -i))
        picked.append(best)
        remaining.remove(best)
        chosen = products.get(candidates[best][0])
        for i in remaining:
            sim = similarity(products.get(candidates[i][0]), chosen)
            if sim > max_sim[i]:
                max_sim[i] = sim
    return [candidates[i] for i in picked]


def apply_rules(
    ranking: Iterable[tuple[Hashable, float]],
    products: Mapping[Any, Any],
    *,
    k: int,
    excluded: Collection[Any] = (),
    boosts: Mapping[str, float] | None = None,
    max_per_category: int | None = None,
    mmr_lambda: float | None = None,
) -> Ranking:
    """Every rule in order (see the module docstring); at most ``k`` items come out."""
    kept = drop_excluded(ranking, excluded)
    kept = drop_unavailable(kept, products)
    kept = apply_boosts(kept, products, boosts or {})
    if mmr_lambda is not None:
        # MMR looks at a few times k candidates: enough variety, and quadratic cost stays small.
        kept = mmr(kept[: max(4 * k, k)], products, mmr_lambda, len(kept))
    return cap_per_category(kept, products, max_per_category, k)
