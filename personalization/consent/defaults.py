"""The wording of the four categories as installed, marked for translation.

The data migration ``0002_consent`` stores a frozen copy in the database, where the merchant edits
it; while a name or a description is left as installed, the banner shows its translation.
"""

from django.utils.translation import gettext_noop

DEFAULT_NAMES: dict[str, str] = {
    "necessary": gettext_noop("Necessary"),
    "analytics": gettext_noop("Analytics"),
    "personalization": gettext_noop("Personalization"),
    "marketing": gettext_noop("Marketing"),
}

DEFAULT_DESCRIPTIONS: dict[str, str] = {
    "necessary": gettext_noop(
        "Needed for the shop to work: your basket, signing in, security and remembering this "
        "choice. Always on."
    ),
    "analytics": gettext_noop(
        "Counts visits and how pages are used, so we can see what works and improve the shop."
    ),
    "personalization": gettext_noop(
        "Remembers what you view and buy on this site to recommend products that suit you."
    ),
    "marketing": gettext_noop(
        "Lets us use your activity for marketing messages and offers, and share it with "
        "advertising partners (a sale or sharing of personal information under US state laws)."
    ),
}
