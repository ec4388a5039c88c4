"""Signals of the tracking pipeline.

``events_stored`` is sent by :func:`~personalization.tracking.writer.write_events` once a batch
is committed, with ``sender=Event`` and ``people``: a frozenset of ``(visitor_pk, user_pk)``
pairs, one per person whose events the batch stored (``visitor_pk`` is None for events without a
visitor, ``user_pk`` None for anonymous ones), and ``events``: a list with a tuple per stored
event, ``(visitor_pk, user_pk, name, occurred_at as epoch seconds, product_id ("" for none),
session_id (canonical UUID text or None), properties, vid)`` (the plain properties, without
the sensitive ones, a dict receivers must not change; ``vid`` the visitor's cookie id or None).
Receivers run inside the flush, so they must be quick; heavy work belongs in a task.
"""

from django.dispatch import Signal

events_stored = Signal()
