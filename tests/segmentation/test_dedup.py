"""Normalisation, blocking and merge suggestions of customer records."""

import re

import numpy as np
import pandas as pd
import pytest

from personalization.segmentation.dedup import (
    MergeSuggestion,
    blocking_keys,
    find_duplicates,
    normalize_address,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postcode,
)

FIRST = ["John", "Mary", "Zoë", "Ahmed", "Li", "Sofia", "Lukas", "Chloé", "Raj", "Emma", "Noah"]
LAST = ["Smith", "O'Brien", "Müller", "García", "Nguyen", "Kowalski", "Rossi", "Dubois", "Patel"]
STREETS = ["High St", "Station Rd", "Church Lane", "Park Ave", "Mill Road", "King St"]


def test_name_normalisation():
    assert normalize_name("  Zoë O'Brien-Smith ") == "zoe o brien smith"
    assert normalize_name("JOSÉ   garcía") == "jose garcia"
    assert normalize_name(None) == ""
    assert normalize_name(float("nan")) == ""


def test_email_normalisation():
    assert normalize_email("J.Smith+shop@GoogleMail.com") == "jsmith@gmail.com"
    assert normalize_email(" j.smith@gmail.com ") == "jsmith@gmail.com"
    assert normalize_email("a.b+news@Example.org") == "a.b@example.org"
    assert normalize_email("not-an-email") == ""
    assert normalize_email("+tag@example.org") == ""


def test_phone_normalisation_with_country_codes():
    assert normalize_phone("+44 (0)20 7946 0018") == "442079460018"
    assert normalize_phone("020 7946 0018") == "442079460018"
    assert normalize_phone("0044-20-7946-0018") == "442079460018"
    assert normalize_phone("(555) 123-4567", default_country_code="1") == "15551234567"
    assert normalize_phone("+1 555 123 4567") == "15551234567"
    assert normalize_phone("n/a") == ""
    assert normalize_phone(None) == ""


def test_address_and_postcode_normalisation():
    assert normalize_address("12 High St., Apt 3") == "12 high street apartment 3"
    assert normalize_address("12 HIGH STREET apartment 3") == "12 high street apartment 3"
    assert normalize_address("5 N. Park Ave") == "5 north park avenue"
    assert normalize_postcode("sw1a 1aa") == "SW1A1AA"
    assert normalize_postcode(None) == ""


def test_blocking_keys():
    assert blocking_keys("john smith", "jsmith@gmail.com", "442079460018", "SW1A1AA") == [
        "e:jsmith@gmail.com",
        "ep:jsmi",
        "p:460018",
        "n:smi:SW1A1AA",
    ]
    assert blocking_keys("john smith", "", "", "") == ["n:smi:j"]
    assert blocking_keys("", "", "123", "") == []


def test_one_planted_duplicate_with_reasons():
    records = pd.DataFrame(
        {
            "name": ["Zoë O'Brien", "zoe obrien", "Zoe O'Brien"],
            "email": ["zoe.obrien@gmail.com", "zoeobrien+shop@googlemail.com", "zob@example.com"],
            "phone": ["+44 20 7946 0018", "020 7946 0018", "+44 161 496 0000"],
            "address": ["12 High St", "12 High Street", "4 Mill Road"],
            "postcode": ["SW1A 1AA", "sw1a1aa", "M1 1AE"],
        },
        index=[101, 205, 333],
    )
    suggestions = find_duplicates(records)
    assert len(suggestions) == 1
    suggestion = suggestions[0]
    assert isinstance(suggestion, MergeSuggestion)
    assert (suggestion.id_a, suggestion.id_b) == (101, 205)
    assert suggestion.score >= 0.9
    assert "same email" in suggestion.reasons
    assert "same phone" in suggestion.reasons
    assert any(reason.startswith("name ") for reason in suggestion.reasons)


def test_same_name_alone_is_not_enough():
    records = pd.DataFrame({"name": ["John Smith", "John Smith"], "email": [None, None]})
    assert find_duplicates(records) == []
    assert find_duplicates(records, min_fields=1) == [
        MergeSuggestion(0, 1, 1.0, ("name 100% similar",))
    ]


def test_single_record_empty_frame_and_bad_threshold():
    assert find_duplicates(pd.DataFrame({"name": ["Only One"]})) == []
    assert find_duplicates(pd.DataFrame({"name": []})) == []
    with pytest.raises(ValueError, match="threshold"):
        find_duplicates(pd.DataFrame({"name": ["a"]}), threshold=2)


def _customers(count, rng):
    rows = []
    for number in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{normalize_name(first)}.{normalize_name(last)}".replace(" ", "")
        rows.append(
            {
                "name": f"{first} {last}",
                "email": f"{local}{number}@example.com",
                "phone": f"+44 7{rng.integers(100_000_000, 999_999_999)}",
                "address": f"{rng.integers(1, 200)} {rng.choice(STREETS)}",
                "postcode": f"AB{rng.integers(1, 99)} {rng.integers(1, 9)}XY",
            }
        )
    return rows


def _near_copy(row, rng):
    """The same customer typed again: accents, case, formatting and one typo vary."""
    copy = dict(row)
    name = normalize_name(row["name"])
    if rng.random() < 0.5:
        at = int(rng.integers(1, len(name) - 1))
        name = name[:at] + name[at + 1 :]  # a dropped letter
    copy["name"] = name.title() if rng.random() < 0.5 else " ".join(reversed(name.split()))
    local, domain = row["email"].split("@")
    copy["email"] = f"{local.upper()}+{rng.integers(1, 9)}@{domain}"
    national = "0" + row["phone"].replace("+44 ", "")
    copy["phone"] = f"{national[:5]} {national[5:]}"
    copy["address"] = re.sub(r"\bSt$", "Street", re.sub(r"\bRd$", "Road", row["address"])).lower()
    copy["postcode"] = row["postcode"].replace(" ", "").lower()
    if rng.random() < 0.3:
        copy["phone"] = None  # fewer fields to go on
    return copy


def test_precision_and_recall_on_planted_near_duplicates():
    rng = np.random.default_rng(5)
    rows = _customers(600, rng)
    planted = set()
    for original in rng.choice(len(rows), size=60, replace=False):
        rows.append(_near_copy(rows[original], rng))
        planted.add((int(original), len(rows) - 1))
    order = rng.permutation(len(rows))  # duplicates are not next to their originals
    records = pd.DataFrame([rows[i] for i in order], index=[int(i) for i in order])

    found = {tuple(sorted((s.id_a, s.id_b))) for s in find_duplicates(records)}
    true_positives = len(found & planted)
    precision = true_positives / len(found)
    recall = true_positives / len(planted)
    assert precision >= 0.95, (precision, sorted(found - planted)[:5])
    assert recall >= 0.95, (recall, sorted(planted - found)[:5])


def test_oversized_blocks_are_skipped_but_other_keys_still_pair_records():
    records = pd.DataFrame(
        {
            "name": ["Ann Lee", "Lee, Ann", "Ann Leigh", "Ann Lo"],
            "email": ["ann.lee@x.org", "ANN.LEE+1@x.org", "ann.leigh@x.org", "ann.lo@x.org"],
            "postcode": ["E1 6AN", None, "N1 9GU", "W1A 1AA"],
        }
    )
    # The "ann." prefix block holds all four records, more than max_block_size allows, and the
    # name keys differ (other word order, no postcode); the exact email key still pairs them.
    suggestions = find_duplicates(records, max_block_size=3)
    assert [(s.id_a, s.id_b) for s in suggestions] == [(0, 1)]
