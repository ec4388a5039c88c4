"""Template tags of the app: ``{% load personalization_tags %}``."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

from django import template
from django.template.base import FilterExpression, token_kwargs
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from ..conf import app_settings
from ..consent.policy import banner_categories, current_policy_version
from ..consent.records import ordered
from ..tracking import tokens

register = template.Library()


@register.inclusion_tag("personalization/tracker.html", takes_context=True)
def personalization_tracker(context: template.Context) -> dict[str, Any]:
    """The ``<script defer>`` tag of tracker.js with its settings as data attributes.

    Renders nothing when tracking is disabled. The visitor token is embedded only when this
    request may be tracked; otherwise the script waits for consent and then fetches a token from
    the token endpoint (docs/tracking.md).
    """
    if not app_settings.TRACKING_ENABLED:
        return {"enabled": False}
    request = context.get("request")
    state = getattr(request, "personalization", None)
    token = ""
    if state is not None and state.tracking and state.vid:
        token = tokens.issue(state.vid)
    return {
        "enabled": True,
        "src": static("personalization/tracker.min.js"),
        "endpoint": reverse("personalization:api-events"),
        "token_url": reverse("personalization:api-token"),
        "token": token,
        "consent_cookie": app_settings.CONSENT_COOKIE_NAME,
        "consent_required": app_settings.CONSENT_REQUIRED,
        "policy_version": current_policy_version(),
    }


@register.inclusion_tag("personalization/consent_banner.html")
def consent_banner() -> dict[str, Any]:
    """The consent banner, its stylesheet and consent.js: the same markup for every visitor.

    Nothing in it depends on the request, so a page with the banner can come from a full-page
    cache: the banner is hidden, and consent.js shows it when the consent cookie is missing or
    was written under another policy version than ``data-version``. With ``CONSENT_SOURCE``
    "tcf" or "onetrust" only the script is rendered; it mirrors the CMP's answer (docs/consent.md).
    """
    source = app_settings.CONSENT_SOURCE
    cmp_map = app_settings.CMP_CATEGORY_MAP.get(source) if source != "banner" else None
    return {
        "banner": source == "banner",
        "categories": banner_categories(),
        "css": static("personalization/consent.css"),
        "src": static("personalization/consent.min.js"),
        "version": current_policy_version(),
        "endpoint": reverse("personalization:api-consent"),
        "cookie": app_settings.CONSENT_COOKIE_NAME,
        "source": source,
        "opt_out": "+".join(ordered(app_settings.OPT_OUT_SIGNAL_CATEGORIES)),
        "cmp_map": json.dumps(cmp_map, separators=(",", ":")) if cmp_map else "",
    }


def _consent_page_link(
    context: template.Context, url_name: str, text: str, *, do_not_sell: bool
) -> dict[str, Any]:
    if app_settings.CONSENT_SOURCE != "banner":
        return {"href": ""}  # a consent-management platform brings its own links
    href = reverse(url_name)
    request = context.get("request")
    if request is not None:
        href += "?" + urlencode({"next": request.path})
    return {"href": href, "text": text, "do_not_sell": do_not_sell}


@register.inclusion_tag("personalization/consent_link.html", takes_context=True)
def consent_preferences_link(context: template.Context, text: str = "") -> dict[str, Any]:
    """A link that reopens the consent banner (consent.js); without script it leads to the
    preferences page. ``text`` replaces the default "Privacy choices"."""
    return _consent_page_link(
        context,
        "personalization:consent-preferences",
        text or _("Privacy choices"),
        do_not_sell=False,
    )


@register.inclusion_tag("personalization/consent_link.html", takes_context=True)
def do_not_sell_link(context: template.Context, text: str = "") -> dict[str, Any]:
    """The CCPA "Do Not Sell or Share My Personal Information" link: consent.js opens the
    choices with marketing (the sale and sharing of personal information) switched off; without
    script it leads to a page that records the opt-out."""
    return _consent_page_link(
        context,
        "personalization:consent-do-not-sell",
        text or _("Do Not Sell or Share My Personal Information"),
        do_not_sell=True,
    )


# --- recommendations ---------------------------------------------------------------------------
#
# {% recommended_for_you %}, {% similar_products product %}, {% bought_together product %},
# {% trending %}, {% recently_viewed %}, {% buy_again %}. Keyword options: limit=, template=,
# placement= (where the list is shown, for attribution; default: the source's name) and title=.
# "... as recs" puts the Recommendation in the context instead of rendering it, for custom markup.
# Personal lists render only with the `personalization` consent; trending renders for everyone
# (the same list for all visitors, filtered by non-personal rules only). docs/recommendations.md.

RECOMMENDATION_TITLES = {
    "for_you": _lazy("Recommended for you"),
    "similar": _lazy("You may also like"),
    "bought_together": _lazy("Frequently bought together"),
    "trending": _lazy("Trending now"),
    "recently_viewed": _lazy("Recently viewed"),
    "buy_again": _lazy("Buy it again"),
}
_RECOMMENDATION_OPTIONS = frozenset({"limit", "template", "placement", "title"})


class RecommendationNode(template.Node):
    """Serves one list (``serving.recommend``) and renders it, or assigns it with ``as``."""

    def __init__(
        self,
        source: str,
        product: FilterExpression | None,
        options: dict[str, FilterExpression],
        target: str | None,
    ) -> None:
        self.source = source
        self.product = product
        self.options = options
        self.target = target
        self._widgets: dict[str, Any] = {}
        self._item_template: Any = None

    def render(self, context: template.Context) -> str:
        from ..recommendations import serving

        options = {name: value.resolve(context) for name, value in self.options.items()}
        request = context.get("request")
        product = self.product.resolve(context) if self.product is not None else None
        if request is None:
            rec = None
        else:
            rec = serving.recommend(
                request,
                options.get("placement") or self.source,
                source=self.source,
                product=product,
                limit=options.get("limit"),
            )
        if self.target:
            context[self.target] = rec
            return ""
        if not rec:
            return ""
        engine = context.template.engine
        widget = self._widget(engine, options.get("template") or "")
        values = {
            "rec": rec,
            "items": [item.as_dict() for item in rec.items],
            "personal": rec.personal,
            "title": options.get("title") or RECOMMENDATION_TITLES[self.source],
            "feedback_url": serving.cached_reverse("personalization:api-recommendations-feedback")
            if rec.personal
            else "",
            # A callable, which the template engine calls only if the widget uses it.
            "items_html": lambda: self._items_html(engine, rec),
        }
        with context.push(values):
            return widget.render(context)

    def _items_html(self, engine: Any, rec: Any) -> SafeString:
        """The items' markup (``item.html``): each product's from this process's fragments,
        with the list's click link put in its place."""
        if engine.debug or self._item_template is None:
            # In debug mode the loader hands out a new template after an edit, which then
            # replaces the fragments rendered from the old one.
            self._item_template = engine.get_template(RECOMMENDATION_ITEM_TEMPLATE)
        item_template = self._item_template
        key_head = (get_language(), rec.personal)
        parts = []
        for item in rec.items:
            product = item.product
            key = (*key_head, product.id)
            cached = _item_fragments.get(key)
            if (
                cached is None
                or cached[1] is not item_template
                or not (cached[0] is product or cached[0] == product)
            ):
                cached = (product, item_template, _render_item(item_template, item, rec.personal))
                _item_fragments.put(key, cached)
            parts.append(escape(item.url).join(cached[2]))
        # Safe: the template engine's escaped output around escaped links.
        return mark_safe("".join(parts))

    def _widget(self, engine: Any, override: str) -> Any:
        """The widget's template: ``override``, else the source's own, else the default.

        Remembered per node outside debug mode: looking up a template that does not exist (the
        source's own, usually) raises and catches an exception on every render otherwise.
        """
        found = None if engine.debug else self._widgets.get(override)
        if found is None:
            names = [f"personalization/recommendations/{self.source}.html", RECOMMENDATION_TEMPLATE]
            if override:
                names.insert(0, override)
            found = engine.select_template(names)
            if not engine.debug:
                self._widgets[override] = found
        return found


RECOMMENDATION_TEMPLATE = "personalization/recommendations/widget.html"
RECOMMENDATION_ITEM_TEMPLATE = "personalization/recommendations/item.html"
# Stands for the click link while an item is rendered; random, so that no product text can
# contain it.
_URL_SLOT = f"p13n-url-{secrets.token_hex(8)}"


class _Fragments:
    """Rendered item markup kept in this process:
    ``key -> (product data, template, the markup split where the click link goes)``.

    An item's markup depends only on the product's data, the language and whether feedback is
    offered; rendering 8 items through the template engine is most of a warm widget's cost.
    """

    #: Entries kept at most; the fragments start afresh when they are full.
    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[Any, Any, list[str]]] = {}

    def get(self, key: tuple[Any, ...]) -> tuple[Any, Any, list[str]] | None:
        return self._entries.get(key)

    def put(self, key: tuple[Any, ...], value: tuple[Any, Any, list[str]]) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {}
        self._entries[key] = value

    def clear(self) -> None:
        self._entries = {}


_item_fragments = _Fragments()


def _render_item(item_template: Any, item: Any, personal: bool) -> list[str]:
    """An item's markup, split where its click link goes (an overriding ``item.html`` may use
    ``item.url`` any number of times)."""
    values = item.as_dict()
    values.update(url=_URL_SLOT, score=None, position=None)
    context = template.Context(
        {"item": values, "personal": personal}, autoescape=item_template.engine.autoescape
    )
    return item_template.render(context).split(_URL_SLOT)


def _recommendation_tag(source: str, takes_product: bool) -> Any:
    def compile_tag(parser: template.base.Parser, token: template.base.Token) -> RecommendationNode:
        bits = token.split_contents()
        name, bits = bits[0], bits[1:]
        target = None
        if len(bits) >= 2 and bits[-2] == "as":
            target, bits = bits[-1], bits[:-2]
        product = None
        if takes_product and bits and "=" not in bits[0]:
            product, bits = parser.compile_filter(bits[0]), bits[1:]
        options = token_kwargs(bits, parser)
        if bits:
            raise template.TemplateSyntaxError(
                f"{name}: unexpected {' '.join(bits)!r}; use "
                f"{name}{' product' if takes_product else ''} [limit=…] [template=…] "
                "[placement=…] [title=…] [as var]"
            )
        unknown = set(options) - _RECOMMENDATION_OPTIONS
        if unknown:
            raise template.TemplateSyntaxError(f"{name}: unknown option(s) {sorted(unknown)}")
        return RecommendationNode(source, product, options, target)

    return compile_tag


register.tag("recommended_for_you", _recommendation_tag("for_you", takes_product=False))
register.tag("similar_products", _recommendation_tag("similar", takes_product=True))
register.tag("bought_together", _recommendation_tag("bought_together", takes_product=True))
register.tag("trending", _recommendation_tag("trending", takes_product=False))
register.tag("recently_viewed", _recommendation_tag("recently_viewed", takes_product=False))
register.tag("buy_again", _recommendation_tag("buy_again", takes_product=False))
