"""Signals of the privacy package.

``data_erased`` is sent after an erasure has committed, by :func:`~.erasure.erase_user` (a
data-subject request) and by :func:`~.erasure.erase_visitor_data` (consent withdrawal). The app
never deletes the store's own records or the user account: a store that wants "Delete my data" to
close the account, or to remove its orders' personal fields, listens to it::

    from django.dispatch import receiver
    from personalization.privacy.signals import data_erased

    @receiver(data_erased)
    def close_account(sender, user_id, vid, categories, request, counts, **kwargs):
        if user_id is not None and categories is None:
            User.objects.filter(pk=user_id).update(is_active=False)

Arguments: ``user_id`` (None for a browser's withdrawal), ``vid`` (the browser's visitor id for a
withdrawal, else None), ``categories`` (None for a full erasure, else the withdrawn consent
categories), ``request`` (the ``DataSubjectRequest`` audit record) and ``counts`` (rows erased per
data type). Receivers run in the worker that ran the erasure.
"""

from django.dispatch import Signal

data_erased = Signal()
