import functools
import logging

import pytest
from django.db import transaction

from personalization.transactions import on_commit_robust

pytestmark = pytest.mark.django_db(transaction=True)


def _fail(message: str) -> None:
    raise RuntimeError(message)


def test_a_failing_callback_is_logged_after_the_commit_not_raised(caplog):
    calls = []
    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"), transaction.atomic():
        on_commit_robust(calls.append, "ran")
        on_commit_robust(functools.partial(_fail, "boom"))
        assert calls == []
    assert calls == ["ran"]
    assert "boom" in caplog.text
    assert "_fail" in caplog.text or "partial" in caplog.text


def test_outside_a_transaction_it_runs_at_once_and_logs_a_failure(caplog):
    calls = []
    with caplog.at_level(logging.ERROR):
        on_commit_robust(calls.append, 1)
        on_commit_robust(_fail, "at once")
    assert calls == [1]
    assert "at once" in caplog.text


def test_a_rolled_back_transaction_runs_nothing():
    calls = []
    with pytest.raises(ValueError), transaction.atomic():
        on_commit_robust(calls.append, 1)
        raise ValueError
    assert calls == []
