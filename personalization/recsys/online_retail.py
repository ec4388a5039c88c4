"""Parsing and cleaning of the UCI "Online Retail" data set (demo import, offline evaluation).

The data set (Chen, 2015, UCI ML Repository id 352, CC BY 4.0) holds every line of every invoice
of a UK gift shop from December 2010 to December 2011: ``InvoiceNo, StockCode, Description,
Quantity, InvoiceDate, UnitPrice, CustomerID, Country``. This module turns such a CSV (plain or
gzip) into catalogue, customer and order tables; it does not touch the database, so the
``import_online_retail`` command only has to write what :func:`parse_online_retail` returns.

Each row is checked against the skip reasons in the order of :data:`SKIP_REASONS` and counted
under the first one that applies:

1. ``cancellation``: the invoice number starts with ``C``;
2. ``adjustment``: it starts with ``A`` (bad-debt adjustments);
3. ``return``: the quantity is zero or negative;
4. ``non-positive price``: the unit price is zero or negative;
5. ``missing customer``: no CustomerID;
6. ``non-product code``: postage, fees, discounts, samples, manual entries, gift vouchers
   (:func:`is_product_code`);
7. ``missing description``: no description on any row of the stock code, so no product name;
8. ``malformed``: a field that does not parse (date, number, customer id) or an empty invoice
   number or stock code.

A check needs its own field to be readable; a row whose quantity is not a number is therefore not
a return but, if nothing before catches it, malformed.

Mapping decisions:

* Stock codes and invoice numbers are upper-cased (the file has ``85123a`` beside ``85123A``
  for the same article).
* Products are made only for stock codes with at least one imported row.
* A product's name is the most common description of its stock code over all rows of the file
  (ties broken alphabetically), title-cased; rows without a description borrow it.
* A product's price is the median unit price of its imported rows.
* Several rows of one invoice for the same stock code become one order line: quantities and
  amounts are summed, and the unit price is the amount divided by the quantity.
* An order's date is the earliest date on its rows (43 invoices straddle a minute), read as UTC.
* A customer's country is the country of their first imported row.

Amounts are integers in tenths of a penny until the end, so totals add up exactly; prices with
more than three decimals are rounded to a tenth of a penny.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.io.parsers import TextFileReader

EXPECTED_COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)

SKIP_REASONS: tuple[str, ...] = (
    "cancellation",
    "adjustment",
    "return",
    "non-positive price",
    "missing customer",
    "non-product code",
    "missing description",
    "malformed",
)

#: Stock codes that book something other than an article (upper case). The ``DCGS...`` codes
#: are articles sold through eBay ("BOYS PARTY BAG") and are kept.
NON_PRODUCT_CODES: frozenset[str] = frozenset(
    {
        "POST",  # postage
        "DOT",  # dotcom postage
        "C2",  # carriage
        "M",  # manual entry
        "D",  # discount
        "S",  # samples
        "B",  # bad-debt adjustment
        "BANK CHARGES",
        "AMAZONFEE",
        "CRUK",  # charity commission
        "PADS",  # cushion pads sold at a tenth of a penny to balance invoices
    }
)
#: Prefixes of non-product codes (gift vouchers ``gift_0001_10`` ... ``gift_0001_50``).
NON_PRODUCT_PREFIXES: tuple[str, ...] = ("GIFT_",)

DEFAULT_CATEGORY = "Other"

#: ``(name, colour, keywords)``, tried in this order; the first category with a keyword in the
#: description wins. Keywords are comma-separated whole words or phrases; a plural ``s``/``es``
#: is allowed. The order settles overlaps: "Christmas candle" is Christmas, "soap dish" is
#: bathroom, "tea towel" is kitchen, "playing cards" are a game and not stationery.
CATEGORY_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "Christmas",
        "#b3261e",
        "christmas, xmas, advent, santa, reindeer, snowflake, snowman, bauble, nativity, jingle "
        "bell, sleigh, gingerbread, mistletoe, tinsel",
    ),
    (
        "Vintage Signs",
        "#8a5a2b",
        "sign, plaque, doorsign",
    ),
    (
        "Party",
        "#d63384",
        "party, bunting, balloon, confetti, straw, pinata, banner, paper chain, fancy dress, "
        "invite, pom pom, pompom",
    ),
    (
        "Candles & Lights",
        "#f0a202",
        "candle, candleholder, candlestick, t-light, t light, tlight, tealight, tea light, "
        "light, lantern, lamp, lampshade, chandelier, incense, oil burner, fragrance, scented, "
        "votive, led, matches, candlepot, candlestand, lightbulb, bulb",
    ),
    (
        "Bathroom",
        "#3f8fc4",
        "bath, bathroom, soap, toilet, toothbrush, shower, sponge, flannel, washbag, wash bag, "
        "toiletry, toiletries, cosmetic, hand towel, guest towel, tissues",
    ),
    (
        "Kitchen & Dining",
        "#c8553d",
        "kitchen, mug, cup, saucer, plate, bowl, teapot, tea pot, tea set, teacup, jug, cake "
        "stand, cake tin, cake case, baking, bake, cutlery, spoon, fork, knife, napkin, tea "
        "towel, towel, apron, oven glove, jam, jar, apothecary, beaker, tumbler, wine, coaster, "
        "placemat, tray, egg, cookie, biscuit, recipe, pantry, lunch box, tea, coffee, milk, "
        "sugar, breakfast, dinner, picnic, dish, pan, cake, chopstick, food, snack, ice lolly, "
        "platter, chopping board, toastrack, colander, squeezer, bottle opener, tablecloth, "
        "oven mitt, cakestand, fruitbowl, cooking, salt and pepper, lolly maker",
    ),
    (
        "Jewellery & Accessories",
        "#8e44ad",
        "necklace, neckl, bracelet, earring, ring, brooch, charm, bead, pendant, diamante, "
        "jewellery, jewel, hair clip, hairclip, hair slide, hair band, hairband, hair grip, "
        "hair comb, hair tie, alice band, purse, wallet, umbrella, scarf, hat, glove, mitten, "
        "keyring, key ring, sunglasses, handbag, watch, compact mirror, bangle, tiara, slipper, "
        "headphone, ear muff, fan, badge, patch, hand warmer, poncho, lip gloss, braclet, "
        "necklac, key fob, key-chain, lariat",
    ),
    (
        "Garden",
        "#4c9a2a",
        "garden, gardener, bird, birdhouse, feeder, plant, planter, flower pot, watering can, "
        "seed, herb, trowel, gnome, chime, windchime, parasol, windmill, window box, shed, "
        "flag, windsock, spade",
    ),
    (
        "Toys & Games",
        "#2a9d8f",
        "toy, game, doll, dolly, puzzle, jigsaw, skittles, domino, playing card, spinning top, "
        "kite, teddy, soldier, bingo, colouring, crayon, childrens, children, childs, kids, "
        "knitting, marble, rocking horse, magic, drawing slate, craft, feltcraft, sewing kit, "
        "money box, piggy bank, play, dinosaur, baby, helicopter, puppet, ludo, skipping rope, "
        "flying disc, modelling clay, paint set, tattoo, creepy crawlie, playhouse, inflatable, "
        "naughts, snakes",
    ),
    (
        "Stationery & Cards",
        "#5c6bc0",
        "card, notebook, note book, notepad, note pad, pencil, pen, paper, wrap, wrapping, gift "
        "tag, sticker, journal, calendar, diary, envelope, tape, stamp, book, eraser, rubber, "
        "ruler, sketchbook, writing, ribbon, tissue, postcard, memo, chalk, clipboard, scissor, "
        "stationery, paperweight, hole punch, memoboard, blackboard, notelet",
    ),
    (
        "Bags & Storage",
        "#6d4c41",
        "bag, shopper, tote, box, basket, storage, tin, case, crate, hamper, chest, trunk, "
        "organiser, luggage, bucket, bin, holdall, rucksack, backpack, container, tidy",
    ),
    (
        "Home Decor",
        "#607d8b",
        "cushion, frame, clock, mirror, vase, doorstop, door stop, wall art, decoration, "
        "decorative, ornament, picture, doormat, door mat, mat, throw, blanket, quilt, hot "
        "water bottle, hook, hanger, knob, rack, shelf, cabinet, wreath, garland, heart, bell, "
        "hanging, wall, tile, magnet, doily, doilies, curtain, bunny, chick, easter, cover, "
        "drawer, screen, letter, sculpture, figure, flower, feather, chalkboard, stool, chair, "
        "table, pouffe, hammock, photo album, photoframe, mobile, glass, star",
    ),
    (DEFAULT_CATEGORY, "#9e9e9e", ""),
)

_CATEGORY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (
        name,
        re.compile(
            r"\b(?:" + "|".join(re.escape(k.strip()) for k in keywords.split(",")) + r")(?:s|es)?\b"
        ),
    )
    for name, _colour, keywords in CATEGORY_RULES
    if keywords
)

CATEGORY_COLOURS: dict[str, str] = {name: colour for name, colour, _ in CATEGORY_RULES}

#: Words kept lower case inside a title ("Set of 3 Cake Tins").
_MINOR_WORDS = frozenset({"of", "and", "the", "in", "with", "for", "on", "to", "a", "an", "or"})

CHUNK_ROWS = 100_000
_DATE_FALLBACK_FORMAT = "%m/%d/%Y %H:%M"  # the widely copied CSV export of the original xlsx
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_INTEGER = re.compile(r"^-?\d+$")
_CUSTOMER = re.compile(r"^(\d+)(?:\.0*)?$")


class RetailFormatError(ValueError):
    """The file is not an Online Retail CSV (missing columns, unreadable)."""


def infer_category(description: str) -> str:
    """The category of an article, from keywords in its description (``"Other"`` if none)."""
    text = description.lower().replace("'", "")
    text = re.sub(r"[^a-z0-9-]+", " ", text)
    for name, pattern in _CATEGORY_PATTERNS:
        if pattern.search(text):
            return name
    return DEFAULT_CATEGORY


def title_case(description: str) -> str:
    """``"SET OF 3 CAKE TINS PANTRY DESIGN "`` → ``"Set of 3 Cake Tins Pantry Design"``.

    Unlike :meth:`str.title`, apostrophes do not start a word ("Children's"), minor words stay
    lower case after the first word, and tokens with digits keep their case ("3D", "S/4").
    """
    words = description.split()
    titled = []
    for position, word in enumerate(words):
        lower = word.lower()
        if position and lower in _MINOR_WORDS:
            titled.append(lower)
        elif any(ch.isdigit() for ch in word):
            titled.append(word)
        else:
            titled.append(re.sub(r"(^|[-/(&.])([a-z])", _upper_group, lower))
    return " ".join(titled)


def _upper_group(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2).upper()


def is_product_code(code: str) -> bool:
    """Whether a stock code (any case) stands for an article rather than a fee or voucher."""
    upper = code.strip().upper()
    return upper not in NON_PRODUCT_CODES and not upper.startswith(NON_PRODUCT_PREFIXES)


def unique_slug(base: str, fallback: str, taken: set[str], max_length: int = 220) -> str:
    """A slug from ``base`` not in ``taken`` (which it joins); on a clash ``fallback`` is added.

    Both parts are slugified by the caller; a numeric suffix settles what is still taken.
    """
    slug = (base or fallback)[:max_length].strip("-")
    if slug in taken:
        slug = f"{base[: max_length - len(fallback) - 1]}-{fallback}".strip("-")
    candidate, number = slug, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = slug[: max_length - len(suffix)] + suffix
        number += 1
    taken.add(candidate)
    return candidate


@dataclass
class RetailData:
    """What a file holds once cleaned; amounts in pence.

    ``products``: index ``sku``; columns ``name``, ``category``, ``price_pence``.
    ``customers``: index ``external_id``; columns ``country``, ``first_order_at``.
    ``orders``: index ``invoice``; columns ``customer``, ``created_at``, ``country``,
    ``total_pence``, sorted by date.
    ``lines``: columns ``invoice``, ``sku``, ``quantity``, ``unit_price_pence``,
    ``line_total_pence``.
    """

    rows_read: int
    rows_imported: int
    skipped: dict[str, int]
    products: pd.DataFrame
    customers: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame


def read_chunks(
    path: str | Path,
    limit: int | None = None,
    encoding: str = "utf-8",
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """The file's rows as string columns (missing values as ``""``), in chunks.

    With ``limit`` the reading stops after that many rows, but finishes the invoice in progress
    so that no order is read in part (a later full import would not complete it). The
    compression is inferred from the file name. Raises :class:`RetailFormatError` when a column
    is missing.
    """
    try:
        header = pd.read_csv(path, nrows=0, compression="infer", encoding=encoding)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise RetailFormatError(f"cannot read {path} as {encoding} CSV: {exc}") from exc
    columns = [str(c).strip() for c in header.columns]
    missing = [c for c in EXPECTED_COLUMNS if c not in columns]
    if missing:
        raise RetailFormatError(
            f"{path} lacks the column(s) {', '.join(missing)}; the expected header is "
            + ",".join(EXPECTED_COLUMNS)
        )
    reader = pd.read_csv(
        path,
        compression="infer",
        encoding=encoding,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        usecols=lambda c: str(c).strip() in EXPECTED_COLUMNS,
        chunksize=chunk_rows,
    )
    try:
        yield from _limited(reader, limit)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise RetailFormatError(f"cannot read {path} as {encoding} CSV: {exc}") from exc


def _limited(reader: TextFileReader, limit: int | None) -> Iterator[pd.DataFrame]:
    seen = 0
    closing_invoice: str | None = None
    with reader:
        for chunk in reader:
            chunk = chunk.rename(columns=lambda c: str(c).strip())[list(EXPECTED_COLUMNS)]
            if closing_invoice is not None:
                # Past the limit: keep only the rest of the invoice the limit cut.
                same = (chunk["InvoiceNo"] == closing_invoice).to_numpy()
                end = len(same) if same.all() else int(np.argmin(same))
                if end:
                    yield chunk.iloc[:end]
                if end < len(chunk):
                    return
                continue
            if limit is None or seen + len(chunk) < limit:
                seen += len(chunk)
                yield chunk
                continue
            cut = limit - seen
            closing_invoice = chunk["InvoiceNo"].iat[cut - 1]
            rest = (chunk["InvoiceNo"].iloc[cut:] == closing_invoice).to_numpy()
            end = cut + (len(rest) if rest.all() else int(np.argmin(rest)))
            yield chunk.iloc[:end]
            if end < len(chunk):
                return


def _per_value(column: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform`` applied to each distinct value once (the columns repeat a lot)."""
    codes, uniques = pd.factorize(column)
    return transform(pd.Series(uniques)).take(codes).set_axis(column.index)


def _parse_integer(text: pd.Series) -> pd.Series:
    text = text.str.strip()
    return pd.to_numeric(text.where(text.str.match(_INTEGER))).astype("float64")


def _parse_number(text: pd.Series) -> pd.Series:
    text = text.str.strip()
    return pd.to_numeric(text.where(text.str.match(_NUMBER))).astype("float64")


def _parse_date(text: pd.Series) -> pd.Series:
    text = text.str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    retry = parsed.isna() & text.ne("")
    if retry.any():
        fallback = pd.to_datetime(
            text.where(retry), format=_DATE_FALLBACK_FORMAT, errors="coerce", utc=True
        )
        parsed = parsed.where(~retry, fallback)
    return parsed


def _clean(chunk: pd.DataFrame) -> pd.DataFrame:
    """Normalised and parsed columns of a raw chunk; unparseable values become NaN/NaT."""
    customer_text = _per_value(chunk["CustomerID"], lambda s: s.str.strip())
    return pd.DataFrame(
        {
            "invoice": _per_value(chunk["InvoiceNo"], lambda s: s.str.strip().str.upper()),
            "sku": _per_value(chunk["StockCode"], lambda s: s.str.strip().str.upper()),
            "description": _per_value(
                chunk["Description"], lambda s: s.str.replace(r"\s+", " ", regex=True).str.strip()
            ),
            "quantity": _per_value(chunk["Quantity"], _parse_integer),
            "price": _per_value(chunk["UnitPrice"], _parse_number),
            "customer_text": customer_text,
            "customer": _per_value(customer_text, lambda s: s.str.extract(_CUSTOMER, expand=False)),
            "created_at": _per_value(chunk["InvoiceDate"], _parse_date),
            "country": _per_value(chunk["Country"], lambda s: s.str.strip()),
        },
        index=chunk.index,
    )


def _early_reasons(rows: pd.DataFrame) -> pd.Series:
    """The first applicable reason among the first six (those that need no other row), or ""."""
    conditions = [
        rows["invoice"].str.startswith("C"),
        rows["invoice"].str.startswith("A"),
        rows["quantity"] <= 0,
        rows["price"] <= 0,
        rows["customer_text"].eq(""),
        rows["sku"].isin([code for code in rows["sku"].unique() if not is_product_code(code)]),
    ]
    reasons = np.select(conditions, list(SKIP_REASONS[: len(conditions)]), default="")
    return pd.Series(reasons, index=rows.index)


def _malformed(rows: pd.DataFrame) -> pd.Series:
    return (
        rows["invoice"].eq("")
        | rows["sku"].eq("")
        | rows["quantity"].isna()
        | rows["price"].isna()
        | rows["customer"].isna()
        | rows["created_at"].isna()
    )


def product_names(description_counts: Counter[tuple[str, str]]) -> dict[str, str]:
    """Each stock code's most common non-empty description (ties: alphabetically first)."""
    best: dict[str, tuple[int, str]] = {}
    for (sku, description), count in description_counts.items():
        current = best.get(sku)
        if current is None or (-count, description) < (-current[0], current[1]):
            best[sku] = (count, description)
    return {sku: description for sku, (_count, description) in best.items()}


def parse_online_retail(
    path: str | Path, limit: int | None = None, encoding: str = "utf-8"
) -> RetailData:
    """Read, check and shape an Online Retail CSV into products, customers, orders and lines."""
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    description_counts: Counter[tuple[str, str]] = Counter()
    candidates = []
    rows_read = 0
    for chunk in read_chunks(path, limit=limit, encoding=encoding):
        rows_read += len(chunk)
        rows = _clean(chunk)
        described = rows[rows["description"].ne("") & rows["sku"].ne("")]
        description_counts.update(
            described.groupby(["sku", "description"], sort=False).size().to_dict()
        )
        reasons = _early_reasons(rows)
        for reason, count in reasons[reasons.ne("")].value_counts().items():
            skipped[reason] += int(count)
        kept = rows[reasons.eq("")]
        candidates.append(kept.drop(columns=["description", "customer_text"]))

    names = product_names(description_counts)
    rows = pd.concat(candidates)  # the reader yields a chunk even for a header-only file
    unnamed = ~rows["sku"].isin(names.keys())
    skipped["missing description"] = int(unnamed.sum())
    rows = rows[~unnamed]
    malformed = _malformed(rows)
    skipped["malformed"] = int(malformed.sum())
    rows = rows[~malformed]

    return RetailData(
        rows_read=rows_read,
        rows_imported=len(rows),
        skipped=skipped,
        **_shape(rows, names),
    )


def _round_half_up(numerator: pd.Series | np.ndarray, denominator: int | np.ndarray) -> np.ndarray:
    """Integer division of non-negative integers, rounding halves up."""
    return (2 * np.asarray(numerator) + np.asarray(denominator)) // (2 * np.asarray(denominator))


def _shape(rows: pd.DataFrame, names: dict[str, str]) -> dict[str, pd.DataFrame]:
    rows = rows.assign(
        quantity=rows["quantity"].astype("int64"),
        # Tenths of a penny: every price in the file has at most three decimals.
        price_milli=np.rint(rows["price"].to_numpy() * 1000).astype("int64"),
    )
    rows["amount_milli"] = rows["quantity"] * rows["price_milli"]

    lines = rows.groupby(["invoice", "sku"], sort=False, as_index=False).agg(
        quantity=("quantity", "sum"), amount_milli=("amount_milli", "sum")
    )
    lines["line_total_pence"] = _round_half_up(lines["amount_milli"], 10)
    lines["unit_price_pence"] = _round_half_up(
        lines["amount_milli"].to_numpy(), 10 * lines["quantity"].to_numpy()
    )
    lines = lines.drop(columns="amount_milli")

    orders = rows.groupby("invoice", sort=False).agg(
        customer=("customer", "first"),
        created_at=("created_at", "min"),
        country=("country", "first"),
    )
    orders["total_pence"] = lines.groupby("invoice", sort=False)["line_total_pence"].sum()
    orders = orders.sort_values(["created_at"], kind="stable")

    products = rows.groupby("sku").agg(price_milli=("price_milli", "median"))
    # A median of integers is a whole or a half number: twice it is exact.
    twice_median = np.rint(products["price_milli"].to_numpy() * 2).astype("int64")
    products["price_pence"] = _round_half_up(twice_median, 20)
    products["name"] = [title_case(names[sku]) for sku in products.index]
    products["category"] = products["name"].map(infer_category)
    products = products[["name", "category", "price_pence"]]

    customers = rows.groupby("customer", sort=False).agg(
        country=("country", "first"), first_order_at=("created_at", "min")
    )
    customers.index.name = "external_id"
    return {"products": products, "customers": customers, "orders": orders, "lines": lines}
