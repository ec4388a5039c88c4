"""Writing a generated :class:`~.generate.Dataset` to the database, and removing a previous one.

Rows get explicit primary keys, counted on from the largest key already in each table, so that the
same dataset written to the same database state produces identical rows; sequences are reset
afterwards (PostgreSQL) so that later inserts by the shop continue after them.

The catalog and the accounts go through ``bulk_create``. The behaviour tables (hundreds of
thousands of rows) skip model instances, which would cost more time than the whole simulation:
their rows are built as tuples of database-ready values and written with one prepared statement
executed for every row (SQLite) or with ``COPY`` (PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils.crypto import RANDOM_STRING_CHARS

from personalization.conf import app_settings
from personalization.models import Event, IdentityMerge, Session, Visitor
from personalization.tracking.writer import EVENT_FIELDS

from ..models import (
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
from .generate import Dataset

DEMO_PASSWORD = "demo-password"
BATCH = 2000
CHUNK = 20000
# SQLite page cache while loading (KiB): the indexes of the event table stay in memory.
SQLITE_CACHE_KIB = 256 * 1024
_EPOCH = dt.datetime(1970, 1, 1)


def _when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _next_pk(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _password_hash(seed: int) -> str:
    """The demo password hashed once for every account, with a salt derived from the seed."""
    rng = random.Random(f"password-salt-{seed}")
    salt = "".join(rng.choice(RANDOM_STRING_CHARS) for _ in range(22))
    return make_password(DEMO_PASSWORD, salt=salt)


def customer_accounts() -> models.QuerySet:
    """Accounts of shop customers (with a profile), never staff or superusers."""
    return get_user_model().objects.filter(
        customer__isnull=False, is_staff=False, is_superuser=False
    )


def flush() -> dict[str, int]:
    """Delete the shop's catalog, customers and orders and all tracked behaviour.

    Children go first so that each delete is a single statement rather than a cascade the ORM
    has to collect row by row. Returns the number of rows deleted per model.
    """
    deleted: dict[str, int] = {}
    steps: list[models.QuerySet] = [
        Event.objects.all(),
        Session.objects.all(),
        IdentityMerge.objects.all(),
        Visitor.objects.all(),
        Review.objects.all(),
        WishlistItem.objects.all(),
        CartItem.objects.all(),
        Cart.objects.all(),
        OrderLine.objects.all(),
        Order.objects.all(),
        customer_accounts(),
        Product.objects.all(),
        Category.objects.all(),
    ]
    for queryset in steps:
        _, per_model = queryset.delete()
        for label, count in per_model.items():
            deleted[label] = deleted.get(label, 0) + count
    return deleted


class _Values:
    """Converts the generator's values (POSIX seconds, UUIDs, dicts) into database values."""

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite" and connection.timezone_name == "UTC"
        if self.sqlite:
            # What Django's SQLite adapters produce, without their per-value overhead.
            self.time: Callable[[float], Any] = lambda s: str(_EPOCH + dt.timedelta(seconds=s))
            self.uuid: Callable[[uuid.UUID], Any] = lambda u: u.hex
            self.json: Callable[[Any], Any] = json.dumps
        else:
            uuid_field = models.UUIDField()
            json_field = models.JSONField()
            adapt_time = connection.ops.adapt_datetimefield_value
            self.time = lambda s: adapt_time(_when(s))
            self.uuid = lambda u: uuid_field.get_db_prep_value(u, connection)
            self.json = lambda v: json_field.get_db_prep_value(v, connection)


def _insert(model: type[models.Model], fields: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Insert ``rows`` (database-ready values in the order of ``fields``) into ``model``'s table.

    Columns the generator knows nothing about (fields added to the model later) get their
    field's default, prepared once for all rows.
    """
    meta = model._meta
    given = {meta.get_field(f).column for f in fields}
    others = [
        f
        for f in meta.concrete_fields
        if f.column not in given and f.db_default is models.NOT_PROVIDED
    ]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [meta.get_field(f).column for f in fields] + [f.column for f in others]
    columns = ", ".join(quote(name) for name in names)
    iterator = (row + defaults for row in rows) if defaults else iter(rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in iterator:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
        while chunk := list(islice(iterator, CHUNK)):
            cursor.executemany(sql, chunk)


# The version and variant bits uuid.UUID(int=..., version=4) sets, for the SQLite fast path.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


@contextmanager
def bulk_load() -> Iterator[None]:
    """One transaction set up for loading many rows.

    On SQLite (outside an enclosing transaction) foreign keys are checked once at the end
    instead of row by row, which makes both deleting and inserting several times faster, and the
    page cache is enlarged. A violation raises ``IntegrityError`` and rolls everything back.
    """
    disabled = connection.disable_constraint_checking()
    cache_size = None
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cache_size = cursor.execute("PRAGMA cache_size").fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        with transaction.atomic():
            yield
            if disabled:
                connection.check_constraints(table_names=_written_tables())
    finally:
        # Inside a failed outer transaction (tests) no statement may run until it rolls back.
        if cache_size is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
        if disabled:
            connection.enable_constraint_checking()


def _written_tables() -> list[str]:
    written = (
        Product,
        CustomerProfile,
        Visitor,
        Session,
        Event,
        Order,
        OrderLine,
        Cart,
        CartItem,
        WishlistItem,
        Review,
    )
    return [model._meta.db_table for model in written]


def write(data: Dataset) -> None:
    """Insert ``data``. Call inside a transaction, on a database whose shop has no products."""
    User = get_user_model()
    values = _Values()
    time = values.time
    base_category = _next_pk(Category)
    base_user = _next_pk(User)
    base_profile = _next_pk(CustomerProfile)
    base_visitor = _next_pk(Visitor)
    base_event = _next_pk(Event)
    base_order = _next_pk(Order)
    base_line = _next_pk(OrderLine)
    base_cart = _next_pk(Cart)
    base_item = _next_pk(CartItem)
    base_wish = _next_pk(WishlistItem)
    base_review = _next_pk(Review)
    first_product = data.products[0].pk if data.products else 1

    def user_pk(index: int | None) -> int | None:
        return None if index is None else base_user + index

    Category.objects.bulk_create(
        [
            Category(
                pk=base_category + i,
                name=c.name,
                slug=c.slug,
                description=c.description,
                colour=c.colour,
            )
            for i, c in enumerate(data.categories)
        ],
        batch_size=BATCH,
    )
    Product.objects.bulk_create(
        [
            Product(
                pk=p.pk,
                sku=p.sku,
                name=p.name,
                slug=p.slug,
                category_id=base_category + p.category,
                brand=p.brand,
                description=p.description,
                price=p.price,
                compare_at_price=p.compare_at_price,
                stock=p.stock,
                is_published=p.is_published,
                tags=p.tags,
                image_count=p.image_count,
                created_at=_when(p.created_at),
            )
            for p in data.products
        ],
        batch_size=BATCH,
    )
    password = _password_hash(data.config.seed)
    User.objects.bulk_create(
        [
            User(
                pk=base_user + i,
                username=c.username,
                first_name=c.person.first_name,
                last_name=c.person.last_name,
                email=c.person.email,
                password=password,
                date_joined=_when(c.date_joined),
                last_login=_when(c.last_login) if c.last_login else None,
            )
            for i, c in enumerate(data.customers)
        ],
        batch_size=BATCH,
    )
    CustomerProfile.objects.bulk_create(
        [
            CustomerProfile(
                pk=base_profile + i,
                user_id=base_user + i,
                phone=c.person.phone,
                address=c.person.address,
                city=c.person.city,
                postcode=c.person.postcode,
                country=c.person.country,
                birth_year=c.person.birth_year,
                persona=c.persona,
            )
            for i, c in enumerate(data.customers)
        ],
        batch_size=BATCH,
    )

    _insert(
        Visitor,
        ("id", "vid", "user", "first_seen", "last_seen"),
        (
            (base_visitor + i, v.vid, user_pk(v.user), time(v.first_seen), time(v.last_seen))
            for i, v in enumerate(data.visitors)
        ),
    )
    session_ids = [values.uuid(s.id) for s in data.sessions]
    _insert(
        Session,
        (
            "id",
            "visitor",
            "user",
            "started_at",
            "ended_at",
            "landing_path",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "device_type",
            "browser",
            "os",
            "event_count",
        ),
        (
            (
                session_ids[i],
                base_visitor + s.visitor,
                user_pk(s.user),
                time(s.started_at),
                time(s.ended_at),
                s.landing_path,
                s.referrer,
                s.utm_source,
                s.utm_medium,
                s.utm_campaign,
                s.device_type,
                s.browser,
                s.os,
                s.event_count,
            )
            for i, s in enumerate(data.sessions)
        ),
    )
    with _indexes_rebuilt_after(Event):
        _insert(
            Event,
            ("id", *EVENT_FIELDS),
            _event_rows(data, values, base_event, base_user, base_visitor, session_ids),
        )

    customers = [c.person for c in data.customers]
    _insert(
        Order,
        (
            "id",
            "number",
            "user",
            "email",
            "created_at",
            "currency",
            "total",
            "shipping_name",
            "shipping_address",
            "shipping_city",
            "shipping_postcode",
            "shipping_country",
        ),
        (
            (
                base_order + i,
                o.number,
                base_user + o.user,
                customers[o.user].email,
                time(o.created_at),
                "GBP",
                o.total,
                f"{customers[o.user].first_name} {customers[o.user].last_name}",
                customers[o.user].address,
                customers[o.user].city,
                customers[o.user].postcode,
                customers[o.user].country,
            )
            for i, o in enumerate(data.orders)
        ),
    )
    _insert(
        OrderLine,
        ("id", "order", "product", "quantity", "unit_price", "line_total"),
        _numbered(
            base_line,
            (
                (base_order + i, first_product + product, quantity, price, price * quantity)
                for i, o in enumerate(data.orders)
                for product, quantity, price in o.lines
            ),
        ),
    )
    _insert(
        Cart,
        ("id", "user", "session_key", "status", "created_at", "updated_at"),
        (
            (
                base_cart + i,
                user_pk(c.user),
                c.session_key,
                c.status,
                time(c.created_at),
                time(c.updated_at),
            )
            for i, c in enumerate(data.carts)
        ),
    )
    _insert(
        CartItem,
        ("id", "cart", "product", "quantity", "added_at"),
        _numbered(
            base_item,
            (
                (base_cart + i, first_product + product, quantity, time(added))
                for i, c in enumerate(data.carts)
                for product, quantity, added in c.items
            ),
        ),
    )
    _insert(
        WishlistItem,
        ("id", "user", "product", "added_at"),
        (
            (base_wish + i, base_user + w.user, first_product + w.product, time(w.added_at))
            for i, w in enumerate(data.wishlist)
        ),
    )
    _insert(
        Review,
        ("id", "product", "user", "rating", "title", "body", "created_at"),
        (
            (
                base_review + i,
                first_product + r.product,
                base_user + r.user,
                r.rating,
                r.title,
                r.body,
                time(r.created_at),
            )
            for i, r in enumerate(data.reviews)
        ),
    )
    _reset_sequences(
        [
            Category,
            Product,
            User,
            CustomerProfile,
            Visitor,
            Event,
            Order,
            OrderLine,
            Cart,
            CartItem,
            WishlistItem,
            Review,
        ]
    )


@contextmanager
def _indexes_rebuilt_after(model: type[models.Model]) -> Iterator[None]:
    """On SQLite, drop the table's secondary indexes for the duration and build them afresh.

    Building an index from the loaded table is several times cheaper than updating it row by
    row. Indexes of PRIMARY KEY and UNIQUE constraints (which SQLite keeps without SQL) stay.
    Inside the loading transaction, a failure rolls the dropped indexes back too.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [model._meta.db_table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for _, sql in indexes:
            cursor.execute(sql)


def _numbered(first_pk: int, rows: Iterable[tuple]) -> Iterator[tuple]:
    """``rows`` with consecutive primary keys from ``first_pk`` put in front."""
    for i, row in enumerate(rows):
        yield (first_pk + i, *row)


def _event_rows(
    data: Dataset,
    values: _Values,
    base_event: int,
    base_user: int,
    base_visitor: int,
    session_ids: list[Any],
) -> Iterator[tuple]:
    """Database rows of the events, in time order, with event ids drawn from the seed."""
    bits = random.Random(f"event-ids-{data.config.seed}").getrandbits
    time, as_json = values.time, values.json
    if values.sqlite:

        def event_id() -> Any:
            return f"{bits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"

    else:

        def event_id() -> Any:
            return values.uuid(uuid.UUID(int=bits(128), version=4))

    # Properties named in SENSITIVE_EVENT_PROPERTIES (search queries) are kept encrypted in
    # Event.sensitive, as the event writer keeps them; their ciphertext differs from run to run.
    hidden = {name.lower() for name in app_settings.SENSITIVE_EVENT_PROPERTIES or ()}
    sensitive_field = Event._meta.get_field("sensitive")
    no_properties = as_json({})
    nothing_hidden = sensitive_field.get_db_prep_save({}, connection)
    devices = [(s.device_type, s.browser, s.os) for s in data.sessions]
    for i, (at, name, visitor, user, session, pk, props, path, host) in enumerate(data.events):
        when = time(at)
        device_type, browser, os_name = devices[session]
        secret = nothing_hidden
        if props and hidden and not hidden.isdisjoint(k.lower() for k in props):
            secret = sensitive_field.get_db_prep_save(
                {k: v for k, v in props.items() if k.lower() in hidden}, connection
            )
            props = {k: v for k, v in props.items() if k.lower() not in hidden}
        yield (
            base_event + i,
            event_id(),
            name,
            base_visitor + visitor,
            None if user is None else base_user + user,
            session_ids[session],
            pk,
            as_json(props) if props else no_properties,
            secret,
            path,
            host,
            device_type,
            browser,
            os_name,
            "seed",
            when,
            None,
            when,
        )


def _reset_sequences(model_list: list[type[models.Model]]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
