"""The UCI Online Retail import: cleaning rules, mapping, counts and idempotency."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from demo_shop.shop.models import Category, CustomerProfile, Order, OrderLine, Product
from personalization.recsys.online_retail import (
    EXPECTED_COLUMNS,
    infer_category,
    is_product_code,
    title_case,
    unique_slug,
)

HEADER = list(EXPECTED_COLUMNS)
T0 = "2010-12-01 08:26:00"
T1 = "2010-12-01 08:34:00"

# One row of every kind; the comments say what the import does with them.
ROWS = [
    # Invoice 536365 of customer 17850: two lines, the first merged from two rows (85123A and
    # the same code in lower case) with different prices.
    f"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,{T0},2.55,17850,United Kingdom",
    f"536365,71053,WHITE METAL LANTERN,6,{T0},3.39,17850.0,United Kingdom",
    f"536365,85123a,WHITE HANGING HEART T-LIGHT HOLDER ,2,{T0},2.50,17850,United Kingdom",
    # The US date format of the common CSV export of the original spreadsheet.
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom",
    # No description on the second line: it is borrowed from the other row of 22745.
    f"536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,{T1},1.69,13047,United Kingdom",
    f"536367,22745,,6,{T1},2.10,13047,United Kingdom",
    f"536368,22745,POPPY'S PLAYHOUSE BEDROOM,2,{T1},2.10,12583,France",
    # Skipped, one per reason (the adjustment also lacks a customer: the first reason counts).
    f"C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-12,{T1},1.65,14527,United Kingdom",
    f"A563185,B,Adjust bad debt,1,{T1},11062.06,,United Kingdom",
    f"536370,22492,MINI PAINT SET VINTAGE,-3,{T1},0.65,12583,France",
    f"536371,22139,RETROSPOT TEA SET CERAMIC 11 PC,1,{T1},0.00,12583,France",
    f"536372,22632,HAND WARMER RED POLKA DOT,6,{T1},1.85,,United Kingdom",
    f"536373,POST,POSTAGE,3,{T1},18.00,12583,France",
    f"536374,DOT,DOTCOM POSTAGE,1,{T1},569.77,14096,United Kingdom",
    f"536375,M,Manual,1,{T1},0.85,12583,France",
    f"536376,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,{T1},17.02,12583,France",
    # Code 99999 has no description on any row.
    f"536377,99999,,1,{T1},1.00,12583,France",
    "536378,22457,NATURAL SLATE HEART CHALKBOARD,4,not a date,2.95,12583,France",
]

EXPECTED_COUNTS = {
    "rows read": 18,
    "rows imported": 7,
    "skipped (cancellation)": 1,
    "skipped (adjustment)": 1,
    "skipped (return)": 1,
    "skipped (non-positive price)": 1,
    "skipped (missing customer)": 1,
    "skipped (non-product code)": 4,
    "skipped (missing description)": 1,
    "skipped (malformed)": 1,
    "categories created": 4,
    "products created": 5,
    "customers created": 3,
    "orders created": 4,
    "order lines created": 6,
    "orders already present": 0,
}


def write_csv(path: Path, rows: list[str], header: list[str] = HEADER) -> Path:
    data = "\n".join([",".join(header), *rows, ""]).encode("utf-8")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def run(path: Path, *args: str) -> tuple[dict[str, int], str]:
    out = io.StringIO()
    call_command("import_online_retail", str(path), *args, stdout=out)
    text = out.getvalue()
    table = {
        label: int(value.replace(",", ""))
        for label, value in re.findall(r"^  (.+?)\s{2,}([\d,]+)$", text, flags=re.MULTILINE)
    }
    return table, text


@pytest.fixture(params=["online_retail.csv", "online_retail.csv.gz"])
def retail_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return write_csv(tmp_path / request.param, ROWS)


@pytest.mark.django_db
def test_import_counts_every_skip_reason_and_creates_the_shop_history(retail_file: Path) -> None:
    table, _ = run(retail_file)
    assert table == EXPECTED_COUNTS

    assert set(Product.objects.values_list("sku", flat=True)) == {
        "85123A",
        "71053",
        "22633",
        "84879",
        "22745",
    }
    assert Order.objects.count() == 4
    assert OrderLine.objects.count() == 6
    assert get_user_model().objects.count() == 3
    assert set(Category.objects.values_list("name", flat=True)) == {
        "Candles & Lights",
        "Jewellery & Accessories",
        "Garden",
        "Toys & Games",
    }


@pytest.mark.django_db
def test_products_are_named_priced_and_categorised_from_their_rows(retail_file: Path) -> None:
    run(retail_file)

    heart = Product.objects.get(sku="85123A")
    assert heart.name == "White Hanging Heart T-Light Holder"
    assert heart.slug == "white-hanging-heart-t-light-holder"
    assert heart.category.name == "Candles & Lights"
    assert heart.category.colour.startswith("#")
    # The median of 2.55 and 2.50 is 2.525, rounded half up.
    assert heart.price == Decimal("2.53")
    assert heart.stock > 0

    playhouse = Product.objects.get(sku="22745")
    assert playhouse.name == "Poppy's Playhouse Bedroom"
    assert playhouse.category.name == "Toys & Games"
    assert playhouse.price == Decimal("2.10")


@pytest.mark.django_db
def test_orders_and_lines_carry_the_invoice_amounts(retail_file: Path) -> None:
    run(retail_file)

    order = Order.objects.get(number="UCI-536365")
    assert order.user.username == "retail-17850"
    assert order.created_at == dt.datetime(2010, 12, 1, 8, 26, tzinfo=dt.UTC)
    assert order.currency == "GBP"
    lines = {line.product.sku: line for line in order.lines.select_related("product")}
    # Two rows of 85123A in one invoice are one line: 6 × 2.55 + 2 × 2.50 = 20.30 for 8.
    assert (lines["85123A"].quantity, lines["85123A"].line_total) == (8, Decimal("20.30"))
    assert lines["85123A"].unit_price == Decimal("2.54")
    assert (lines["71053"].quantity, lines["71053"].line_total) == (6, Decimal("20.34"))
    assert order.total == Decimal("40.64")

    us_date = Order.objects.get(number="UCI-536366")
    assert us_date.created_at == dt.datetime(2010, 12, 1, 8, 28, tzinfo=dt.UTC)
    assert us_date.total == Decimal("11.10")
    # The line without a description is kept: its code is named on another row.
    assert Order.objects.get(number="UCI-536367").total == Decimal("66.68")
    assert set(Order.objects.values_list("number", flat=True)) == {
        "UCI-536365",
        "UCI-536366",
        "UCI-536367",
        "UCI-536368",
    }


@pytest.mark.django_db
def test_customers_are_users_without_passwords_with_a_profile(retail_file: Path) -> None:
    run(retail_file)

    user = get_user_model().objects.get(username="retail-12583")
    assert not user.has_usable_password()
    profile = CustomerProfile.objects.get(user=user)
    assert (profile.external_id, profile.country) == ("12583", "France")
    assert CustomerProfile.objects.get(external_id="17850").user.username == "retail-17850"
    assert user.orders.count() == 1


@pytest.mark.django_db
def test_a_second_run_creates_nothing(retail_file: Path) -> None:
    run(retail_file)
    snapshot = [
        Model.objects.count()
        for Model in (Category, Product, Order, OrderLine, CustomerProfile, get_user_model())
    ]

    table, text = run(retail_file)

    assert {label: n for label, n in table.items() if label.endswith(" created")} == {
        "categories created": 0,
        "products created": 0,
        "customers created": 0,
        "orders created": 0,
        "order lines created": 0,
    }
    assert table["orders already present"] == 4
    assert "0 created" in text
    assert snapshot == [
        Model.objects.count()
        for Model in (Category, Product, Order, OrderLine, CustomerProfile, get_user_model())
    ]


@pytest.mark.django_db
def test_limit_reads_whole_invoices_so_a_later_full_run_completes_the_history(
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "online_retail.csv", ROWS)

    table, _ = run(path, "--limit", "2")
    # The limit cuts invoice 536365 after two rows; its third row is read as well.
    assert (table["rows read"], table["orders created"], table["order lines created"]) == (3, 1, 2)

    table, _ = run(path)
    assert (table["orders created"], table["orders already present"]) == (3, 1)
    assert OrderLine.objects.count() == 6
    assert Order.objects.get(number="UCI-536365").total == Decimal("40.64")


@pytest.mark.django_db
def test_existing_products_and_users_are_reused(tmp_path: Path) -> None:
    category = Category.objects.create(name="Candles & Lights", slug="candles-lights")
    Product.objects.create(
        sku="OTHER",
        name="White Hanging Heart T-Light Holder",
        slug="white-hanging-heart-t-light-holder",
        category=category,
        price=Decimal("1"),
    )
    get_user_model().objects.create_user("retail-17850")

    table, _ = run(write_csv(tmp_path / "online_retail.csv", ROWS))

    assert (table["categories created"], table["customers created"]) == (3, 2)
    assert Product.objects.get(sku="85123A").slug == "white-hanging-heart-t-light-holder-85123a"
    assert CustomerProfile.objects.get(external_id="17850").user.username == "retail-17850"


@pytest.mark.django_db
def test_a_missing_column_is_a_command_error_naming_the_expected_header(tmp_path: Path) -> None:
    header = [c for c in HEADER if c != "Country"]
    path = write_csv(tmp_path / "bad.csv", [row.rsplit(",", 1)[0] for row in ROWS], header=header)

    with pytest.raises(CommandError) as error:
        run(path)

    assert "Country" in str(error.value)
    assert ",".join(EXPECTED_COLUMNS) in str(error.value)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_unreadable_file_or_a_bad_limit_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path / "missing.csv")
    with pytest.raises(CommandError, match="--limit"):
        run(write_csv(tmp_path / "online_retail.csv", ROWS), "--limit", "0")


@pytest.mark.django_db
def test_the_encoding_can_be_chosen(tmp_path: Path) -> None:
    # The widely copied CSV export of the original spreadsheet is ISO-8859-1 ("£" is one byte).
    path = tmp_path / "online_retail.csv"
    path.write_bytes("\n".join([",".join(HEADER), *ROWS, ""]).encode("latin-1"))

    with pytest.raises(CommandError, match="utf-8"):
        run(path)
    table, _ = run(path, "--encoding", "latin-1")

    assert table == EXPECTED_COUNTS


@pytest.mark.django_db
def test_a_header_only_file_imports_nothing(tmp_path: Path) -> None:
    table, _ = run(write_csv(tmp_path / "online_retail.csv", []))
    assert table["rows read"] == 0
    assert table["orders created"] == 0


@pytest.mark.parametrize(
    ("description", "category"),
    [
        ("WHITE HANGING HEART T-LIGHT HOLDER", "Candles & Lights"),
        ("PAPER CHAIN KIT 50'S CHRISTMAS", "Christmas"),
        ("JUMBO BAG RED RETROSPOT", "Bags & Storage"),
        ("SET OF 3 CAKE TINS PANTRY DESIGN", "Kitchen & Dining"),
        ("RED RETROSPOT TEA TOWEL", "Kitchen & Dining"),
        ("WHITE BROCANTE SOAP DISH", "Bathroom"),
        ("PACK OF 72 RETROSPOT CAKE CASES", "Kitchen & Dining"),
        ("PARTY BUNTING", "Party"),
        ("SPACEBOY BIRTHDAY CARD", "Stationery & Cards"),
        ("MINI PLAYING CARDS SPACEBOY", "Toys & Games"),
        ("DIAMANTE NECKLACE BLACK", "Jewellery & Accessories"),
        ("GARDENERS KNEELING PAD KEEP CALM", "Garden"),
        ("PLEASE ONE PERSON METAL SIGN", "Vintage Signs"),
        ("HOME SWEET HOME CUSHION COVER", "Home Decor"),
        ("SPRING FLOWER CHICKEN", "Home Decor"),
        ("INFLATABLE POLITICAL GLOBE", "Toys & Games"),
        ("SOMBRERO", "Other"),
    ],
)
def test_infer_category(description: str, category: str) -> None:
    assert infer_category(description) == category


def test_keywords_match_whole_words_only() -> None:
    # "ring" is jewellery, but not inside "spring"; "pen" is stationery, not in "pendant".
    assert infer_category("SPRING TIME") == "Other"
    assert infer_category("KEY RING") == "Jewellery & Accessories"
    assert infer_category("SILVER PENDANT") == "Jewellery & Accessories"


@pytest.mark.parametrize(
    ("description", "title"),
    [
        ("SET OF 3 CAKE TINS PANTRY DESIGN ", "Set of 3 Cake Tins Pantry Design"),
        ("CHILDREN'S APRON DOLLY GIRL", "Children's Apron Dolly Girl"),
        ("WHITE HANGING HEART T-LIGHT HOLDER", "White Hanging Heart T-Light Holder"),
        ("JAM MAKING SET W/JARS", "Jam Making Set W/Jars"),
        ("OF MICE AND MEN", "Of Mice and Men"),
        ("3D SHEET OF DOG STICKERS", "3D Sheet of Dog Stickers"),
    ],
)
def test_title_case(description: str, title: str) -> None:
    assert title_case(description) == title


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("85123A", True),
        ("85123a", True),
        ("DCGSSGIRL", True),
        ("POST", False),
        ("dot", False),
        ("BANK CHARGES", False),
        ("gift_0001_10", False),
        ("C2", False),
    ],
)
def test_is_product_code(code: str, expected: bool) -> None:
    assert is_product_code(code) is expected


def test_unique_slug_adds_the_sku_then_a_number_on_a_clash() -> None:
    taken = {"heart", "heart-85123a"}
    assert unique_slug("lantern", "71053", taken) == "lantern"
    assert unique_slug("heart", "85123b", taken) == "heart-85123b"
    assert unique_slug("heart", "85123a", taken) == "heart-85123a-2"
    assert unique_slug("", "22745", taken) == "22745"
    assert {"lantern", "heart-85123b", "heart-85123a-2", "22745"} <= taken
