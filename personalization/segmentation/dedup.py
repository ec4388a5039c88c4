"""Fuzzy de-duplication of customer records: merge suggestions with a score and the reasons.

>>> suggestions = find_duplicates(customers, threshold=0.85)     # doctest: +SKIP
>>> suggestions[0]                                                # doctest: +SKIP
MergeSuggestion(id_a=17, id_b=942, score=0.97, reasons=('same email', 'name 94% similar'))

``records`` is a DataFrame indexed by the record id with any of the columns ``name``, ``email``,
``phone``, ``address`` and ``postcode`` (missing values allowed).

Normalisation
    names: accents stripped, casefolded, punctuation removed; emails: lowercased, ``+tags``
    removed, dots removed for Gmail (``googlemail.com`` becomes ``gmail.com``); phones: digits
    only, ``+``/``00`` international prefixes kept, a national number (one leading trunk ``0``
    or no prefix) gets ``default_country_code``; addresses: like names, with the common street
    abbreviations written out (``St`` → ``street``, ``Rd`` → ``road``, ...); postcodes: upper
    case without spaces.

Blocking
    Only records that share a blocking key are compared, which keeps the work near-linear: the
    normalised email, the first four characters of its local part, the last six digits of the
    phone, and the first three letters of the last name word with the postcode (or the first
    name's initial when there is no postcode). Blocks larger than ``max_block_size`` (common
    prefixes, placeholder values such as ``000000``) are skipped; the other keys still pair
    their records.

Score
    The weighted mean of the field similarities of the fields both records have (weights
    :data:`WEIGHTS`): names by the best of ``fuzz.ratio``, ``fuzz.token_sort_ratio`` (word order
    does not matter) and ``fuzz.ratio`` without spaces (``"sofiarossi"``), emails and
    phones 1 when equal after normalisation, else ``fuzz.ratio`` rescaled so that 80% or less
    counts as 0 (different people's emails often differ by a digit or two), addresses by
    ``token_sort_ratio`` averaged with postcode equality when both have one. A pair needs at
    least ``min_fields`` compared fields, so two strangers called John Smith with no other data
    are never suggested.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from itertools import combinations
from typing import NamedTuple

import pandas as pd
from rapidfuzz import fuzz

__all__ = [
    "WEIGHTS",
    "MergeSuggestion",
    "blocking_keys",
    "find_duplicates",
    "normalize_address",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_postcode",
    "normalize_records",
]

#: Field weights of the score.
WEIGHTS: Mapping[str, float] = {"name": 0.35, "email": 0.3, "phone": 0.2, "address": 0.15}

_ADDRESS_WORDS = {
    "st": "street",
    "str": "street",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "ln": "lane",
    "dr": "drive",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "hwy": "highway",
    "apt": "apartment",
    "ste": "suite",
    "fl": "floor",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}
_GMAIL = {"gmail.com", "googlemail.com"}
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D+")
# How much of an evidence a similarity must reach to be named among the reasons.
_REASON_SIMILARITY = 0.8
_IDENTIFIER_FLOOR = 0.8


class MergeSuggestion(NamedTuple):
    """Two records that probably describe one customer (``id_a`` comes first in the input)."""

    id_a: object
    id_b: object
    score: float
    reasons: tuple[str, ...]


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", _NON_WORD.sub(" ", stripped.casefold())).strip()


def normalize_name(name: str | None) -> str:
    """``"  Zoë O'Brien-Smith "`` → ``"zoe o brien smith"``."""
    return _plain(name) if isinstance(name, str) else ""


def normalize_email(email: str | None) -> str:
    """Lowercase, without ``+tags``; Gmail addresses also without dots in the local part."""
    if not isinstance(email, str) or "@" not in email:
        return ""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else ""


def normalize_phone(phone: str | None, default_country_code: str = "44") -> str:
    """Digits with the country code: ``"+44 (0)20 7946 0018"`` and ``"020 7946 0018"`` agree."""
    if not isinstance(phone, str):
        return ""
    text = phone.strip().replace("(0)", "")
    digits = _DIGITS.sub("", text)
    if text.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        digits = digits[1:]
    return f"{default_country_code}{digits}" if digits else ""


def normalize_address(address: str | None) -> str:
    """Like :func:`normalize_name`, with street abbreviations written out."""
    if not isinstance(address, str):
        return ""
    return " ".join(_ADDRESS_WORDS.get(word, word) for word in _plain(address).split())


def normalize_postcode(postcode: str | None) -> str:
    """Upper case without spaces or punctuation."""
    return re.sub(r"[^0-9A-Z]", "", postcode.upper()) if isinstance(postcode, str) else ""


def normalize_records(records: pd.DataFrame, default_country_code: str = "44") -> pd.DataFrame:
    """The normalised ``name, email, phone, address, postcode`` of every record ("" if absent)."""

    def column(name: str) -> pd.Series:
        if name in records.columns:
            return records[name]
        return pd.Series(None, index=records.index, dtype=object)

    return pd.DataFrame(
        {
            "name": [normalize_name(value) for value in column("name")],
            "email": [normalize_email(value) for value in column("email")],
            "phone": [normalize_phone(value, default_country_code) for value in column("phone")],
            "address": [normalize_address(value) for value in column("address")],
            "postcode": [normalize_postcode(value) for value in column("postcode")],
        },
        index=records.index,
    )


def blocking_keys(name: str, email: str, phone: str, postcode: str) -> list[str]:
    """The blocking keys of one normalised record (see the module docstring)."""
    keys = []
    if email:
        keys += ["e:" + email, "ep:" + email.split("@", 1)[0][:4]]
    if len(phone) >= 6:
        keys.append("p:" + phone[-6:])
    words = name.split()
    if words:
        tail = postcode or words[0][0]
        keys.append(f"n:{words[-1][:3]}:{tail}")
    return keys


def _similarity(field: str, a: str, b: str) -> float:
    if field == "name":
        # Sorting the words alone would mis-sort a typo in a first letter ("noah ubois"), so the
        # best of the plain, the word-order-free and the space-free comparison counts.
        joined = fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))
        return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b), joined) / 100
    if a == b:
        return 1.0
    if field == "address":
        return fuzz.token_sort_ratio(a, b) / 100
    # Distinct people often have near-identical emails and phones (john.smith1, john.smith2),
    # so only a typo-level difference keeps some weight: 80% similar or less counts as 0.
    return max(0.0, (fuzz.ratio(a, b) / 100 - _IDENTIFIER_FLOOR) / (1 - _IDENTIFIER_FLOOR))


def _reason(field: str, similarity: float) -> str:
    if similarity == 1.0 and field in ("email", "phone", "postcode"):
        return f"same {field}"
    return f"{field} {similarity:.0%} similar"


def _compare(
    a: tuple[str, ...], b: tuple[str, ...], weights: Mapping[str, float]
) -> tuple[float, int, tuple[str, ...]]:
    """Score, number of compared fields and reasons of two normalised records."""
    name_a, email_a, phone_a, address_a, postcode_a = a
    name_b, email_b, phone_b, address_b, postcode_b = b
    total = weight_sum = 0.0
    compared = 0
    reasons = []
    for field, left, right in (
        ("name", name_a, name_b),
        ("email", email_a, email_b),
        ("phone", phone_a, phone_b),
        ("address", address_a, address_b),
    ):
        if not (left and right):
            continue
        similarity = _similarity(field, left, right)
        if field == "address" and postcode_a and postcode_b:
            similarity = (similarity + (postcode_a == postcode_b)) / 2
        weight = weights.get(field, 0.0)
        total += weight * similarity
        weight_sum += weight
        compared += 1
        if similarity >= _REASON_SIMILARITY:
            reasons.append(_reason(field, similarity))
    if not weight_sum:
        return 0.0, 0, ()
    return total / weight_sum, compared, tuple(reasons)


def find_duplicates(
    records: pd.DataFrame,
    threshold: float = 0.85,
    weights: Mapping[str, float] = WEIGHTS,
    min_fields: int = 2,
    default_country_code: str = "44",
    max_block_size: int = 200,
) -> list[MergeSuggestion]:
    """Merge suggestions scoring at least ``threshold`` (0–1), best first.

    Ties in score keep the input order of ``id_a`` then ``id_b``, so the output is deterministic.
    """
    if not 0 <= threshold <= 1:
        raise ValueError("threshold must be between 0 and 1")
    normal = normalize_records(records, default_country_code)
    rows = list(normal[["name", "email", "phone", "address", "postcode"]].itertuples(index=False))
    blocks: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        for key in blocking_keys(row.name, row.email, row.phone, row.postcode):
            blocks.setdefault(key, []).append(position)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if 1 < len(members) <= max_block_size:
            pairs.update(combinations(members, 2))

    ids = list(records.index)
    suggestions = []
    for first, second in sorted(pairs):
        score, compared, reasons = _compare(tuple(rows[first]), tuple(rows[second]), weights)
        if compared >= min_fields and score >= threshold:
            suggestions.append(MergeSuggestion(ids[first], ids[second], round(score, 4), reasons))
    suggestions.sort(key=lambda suggestion: -suggestion.score)
    return suggestions
