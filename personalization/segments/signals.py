"""Signals sent when a person enters or leaves a segment.

Both are sent with ``sender=Segment`` and the keyword arguments ``segment`` (the Segment),
``user_id`` and ``visitor_id`` (one of them is None) and ``at`` (the time of the change), right
after the membership row is written, inside the writer's transaction: a receiver that queues work
should wrap it in ``transaction.on_commit``.
"""

from django.dispatch import Signal

segment_entered = Signal()
segment_exited = Signal()
