"""Invented UK customers: names, e-mail addresses, phone numbers and postal addresses.

Nothing here can reach a real person: e-mail domains are reserved for examples (RFC 2606 and
RFC 6761) and phone numbers come from the ranges Ofcom sets aside for drama. Near-duplicates are
the same person registered twice with small differences, for a de-duplication feature to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

FIRST_NAMES = (
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Jacob",
    "Noah",
    "Charlie",
    "Thomas",
    "Oscar",
    "William",
    "James",
    "Leo",
    "Alfie",
    "Henry",
    "Joshua",
    "Freddie",
    "Archie",
    "Ethan",
    "Isaac",
    "Alexander",
    "Joseph",
    "Samuel",
    "Daniel",
    "Logan",
    "Edward",
    "Lucas",
    "Max",
    "Mohammed",
    "Benjamin",
    "Mason",
    "Harrison",
    "Theo",
    "Jake",
    "Sebastian",
    "Finley",
    "Arthur",
    "Adam",
    "Dylan",
    "Riley",
    "Zachary",
    "Matthew",
    "Rory",
    "Stephen",
    "Philip",
    "John",
    "David",
    "Michael",
    "Andrew",
    "Christopher",
    "Mark",
    "Paul",
    "Richard",
    "Jonathan",
    "Aidan",
    "Ravi",
    "Arjun",
    "Kwame",
    "Tomasz",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Emily",
    "Isabella",
    "Mia",
    "Poppy",
    "Ella",
    "Lily",
    "Sophia",
    "Grace",
    "Evie",
    "Charlotte",
    "Jessica",
    "Daisy",
    "Sophie",
    "Freya",
    "Alice",
    "Scarlett",
    "Ruby",
    "Chloe",
    "Lucy",
    "Florence",
    "Matilda",
    "Phoebe",
    "Hannah",
    "Zoe",
    "Sarah",
    "Katherine",
    "Rebecca",
    "Rachel",
    "Laura",
    "Emma",
    "Claire",
    "Helen",
    "Joanne",
    "Nicola",
    "Victoria",
    "Catherine",
    "Eleanor",
    "Imogen",
    "Aisha",
    "Priya",
    "Fatima",
    "Niamh",
    "Siobhan",
    "Agnieszka",
    "Yasmin",
    "Ellie",
    "Megan",
    "Abigail",
    "Bethany",
    "Holly",
    "Jasmine",
    "Leah",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
    "Mason",
    "Ali",
    "Hunt",
    "Hussain",
    "Campbell",
    "Matthews",
    "Owen",
    "Palmer",
    "Holmes",
    "Mills",
    "Barnes",
    "Knight",
    "Lloyd",
    "Butler",
    "Russell",
    "Barker",
    "Fisher",
    "Stevens",
    "Jenkins",
    "Murray",
    "Dixon",
    "Harvey",
    "Graham",
    "Pearson",
    "Ahmed",
    "Fletcher",
    "Walsh",
    "Kaur",
    "Gibson",
    "Howard",
    "Andrews",
    "Stewart",
    "McDonald",
    "O'Brien",
    "Kowalski",
    "Nowak",
    "Okafor",
    "Mensah",
    "Chen",
    "Nguyen",
    "Sharma",
    "Gallagher",
)
# Spellings of the same given name that people (or their browsers' autofill) mix up.
NAME_VARIANTS = {
    "Stephen": "Steven",
    "Philip": "Phillip",
    "John": "Jon",
    "Mohammed": "Muhammad",
    "Zoe": "Zoë",
    "Sarah": "Sara",
    "Katherine": "Catherine",
    "Catherine": "Kathryn",
    "Rebecca": "Rebekah",
    "Jonathan": "Johnathan",
    "Nicola": "Nichola",
    "Aidan": "Aiden",
    "Isabella": "Isabel",
    "Matthew": "Mathew",
    "Zachary": "Zak",
    "Alexander": "Alex",
    "Christopher": "Chris",
    "Samuel": "Sam",
    "Benjamin": "Ben",
    "Victoria": "Vicky",
    "Jessica": "Jess",
    "Eleanor": "Elinor",
}
SURNAME_VARIANTS = {
    "McDonald": "MacDonald",
    "O'Brien": "OBrien",
    "Clarke": "Clark",
    "Davies": "Davis",
    "Philips": "Phillips",
    "Gray": "Grey",
    "Thompson": "Thomson",
    "Stevens": "Stephens",
    "Mathews": "Matthews",
}
STREETS = (
    "Oak",
    "Station",
    "Church",
    "Victoria",
    "Mill",
    "Park",
    "High",
    "Queen's",
    "King's",
    "Manor",
    "Orchard",
    "Meadow",
    "Chestnut",
    "Willow",
    "Albert",
    "Grange",
    "Springfield",
    "Windsor",
    "Highfield",
    "Beech",
    "Cedar",
    "Elm",
    "Kingsway",
    "Riverside",
    "Mount Pleasant",
    "Clarence",
)
STREET_KINDS = {
    "Road": "Rd",
    "Street": "St",
    "Lane": "Ln",
    "Avenue": "Ave",
    "Close": "Cl",
    "Drive": "Dr",
    "Gardens": "Gdns",
    "Crescent": "Cres",
    "Terrace": "Terr",
    "Way": "Way",
}


@dataclass(frozen=True)
class City:
    name: str
    weight: float
    postcode_areas: tuple[str, ...]
    # A drama-range landline: area code and the local number's fixed prefix (4 digits follow).
    area_code: str
    local_prefix: str


CITIES = (
    City("London", 0.26, ("E", "N", "NW", "SE", "SW", "W"), "020", "7946 0"),
    City("Birmingham", 0.08, ("B",), "0121", "496 0"),
    City("Manchester", 0.08, ("M",), "0161", "496 0"),
    City("Leeds", 0.06, ("LS",), "0113", "496 0"),
    City("Glasgow", 0.06, ("G",), "0141", "496 0"),
    City("Liverpool", 0.05, ("L",), "0151", "496 0"),
    City("Bristol", 0.05, ("BS",), "0117", "496 0"),
    City("Sheffield", 0.05, ("S",), "0114", "496 0"),
    City("Edinburgh", 0.05, ("EH",), "0131", "496 0"),
    City("Newcastle upon Tyne", 0.04, ("NE",), "0191", "498 0"),
    City("Nottingham", 0.04, ("NG",), "0115", "496 0"),
    City("Leicester", 0.04, ("LE",), "0116", "496 0"),
    City("Reading", 0.03, ("RG",), "0118", "496 0"),
    City("Cardiff", 0.03, ("CF",), "029", "2018 0"),
    City("Belfast", 0.02, ("BT",), "028", "9649 6"),
)
MOBILE_PREFIX = "07700 900"
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example")
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    address: str
    city: str
    postcode: str
    country: str
    birth_year: int


class PeopleFactory:
    """Makes distinct people; remembers e-mail addresses and phone numbers already handed out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    def _email(self, first: str, last: str, birth_year: int) -> str:
        rng = self.rng
        first_l = first.lower().replace("ë", "e")
        last_l = last.lower().replace("'", "")
        local = rng.choice(
            (
                f"{first_l}.{last_l}",
                f"{first_l}{last_l}",
                f"{first_l[0]}.{last_l}",
                f"{first_l}_{last_l}",
                f"{first_l}{birth_year % 100:02d}",
                f"{last_l}.{first_l}",
            )
        )
        domain = rng.choice(EMAIL_DOMAINS)
        email = f"{local}@{domain}"
        while email in self.emails:
            email = f"{local}{rng.randint(1, 999)}@{domain}"
        self.emails.add(email)
        return email

    def _phone(self, city: City) -> str:
        rng = self.rng
        for _ in range(30):
            if rng.random() < 0.6:
                phone = f"{MOBILE_PREFIX}{rng.randint(0, 999):03d}"
            else:
                phone = f"{city.area_code} {city.local_prefix}{rng.randint(0, 999):03d}"
            if phone not in self.phones:
                break
        self.phones.add(phone)
        return phone

    def _postcode(self, city: City) -> str:
        rng = self.rng
        area = rng.choice(city.postcode_areas)
        letters = rng.choice(POSTCODE_LETTERS) + rng.choice(POSTCODE_LETTERS)
        return f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}{letters}"

    def person(self, reference_year: int) -> Person:
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        age = int(min(85, max(18, rng.gauss(41, 13))))
        birth_year = reference_year - age
        city = rng.choices(CITIES, weights=[c.weight for c in CITIES])[0]
        street = f"{rng.choice(STREETS)} {rng.choice(list(STREET_KINDS))}"
        return Person(
            first_name=first,
            last_name=last,
            email=self._email(first, last, birth_year),
            phone=self._phone(city),
            address=f"{rng.randint(1, 180)} {street}",
            city=city.name,
            postcode=self._postcode(city),
            country="United Kingdom",
            birth_year=birth_year,
        )

    def near_duplicate(self, person: Person) -> Person:
        """The same person registered again: another e-mail and two or three small differences."""
        rng = self.rng
        first, last = person.first_name, person.last_name
        changes = rng.sample(("first", "last", "phone", "address", "postcode"), k=rng.randint(2, 3))
        if "first" in changes:
            first = NAME_VARIANTS.get(first) or _typo(rng, first)
        if "last" in changes:
            last = SURNAME_VARIANTS.get(last) or _typo(rng, last)
        phone = _reformat_phone(rng, person.phone) if "phone" in changes else person.phone
        address = person.address
        if "address" in changes:
            for full, short in STREET_KINDS.items():
                address = address.replace(f" {full}", f" {short}")
            address = address if address != person.address else address.upper()
        postcode = person.postcode
        if "postcode" in changes:
            postcode = rng.choice((postcode.replace(" ", ""), postcode.lower()))
        email = self._duplicate_email(person.email, first, last)
        return replace(
            person,
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            address=address,
            postcode=postcode,
        )

    def _duplicate_email(self, email: str, first: str, last: str) -> str:
        rng = self.rng
        local, domain = email.split("@")
        candidates = [
            f"{local.replace('.', '')}@{domain}",
            f"{local}@{rng.choice([d for d in EMAIL_DOMAINS if d != domain])}",
            f"{local}+shop@{domain}",
            f"{first.lower()}.{last.lower().replace(chr(39), '')}@{domain}",
            f"{local}{rng.randint(1, 99)}@{domain}",
        ]
        rng.shuffle(candidates)
        for candidate in candidates:
            if candidate not in self.emails:
                self.emails.add(candidate)
                return candidate
        return self._email(first, last, rng.randint(1950, 2005))


def _typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard: two letters swapped, a letter doubled or a double letter halved."""
    doubled = [i for i in range(1, len(word)) if word[i] == word[i - 1]]
    if doubled and rng.random() < 0.5:
        i = rng.choice(doubled)
        return word[:i] + word[i + 1 :]
    i = rng.randint(1, len(word) - 2) if len(word) > 3 else 1
    swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if swapped != word and rng.random() < 0.5:
        return swapped
    return word[: i + 1] + word[i] + word[i + 1 :]


def _reformat_phone(rng: random.Random, phone: str) -> str:
    digits = phone.replace(" ", "")
    return rng.choice(
        (
            digits,
            "+44 " + phone[1:],
            "+44" + digits[1:],
            f"({phone.split(' ')[0]}) {phone.split(' ', 1)[1]}",
        )
    )
