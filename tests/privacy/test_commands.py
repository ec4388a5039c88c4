"""personalization_export and personalization_erase."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personalization.models import DataSubjectRequest, Event, Visitor

pytestmark = pytest.mark.django_db


def test_export_writes_the_json_to_standard_output(person) -> None:
    out = io.StringIO()
    call_command("personalization_export", "--user", str(person.user.pk), stdout=out)
    data = json.loads(out.getvalue())
    assert data["account"]["username"] == "alice"
    assert len(data["events"]) == 6
    assert DataSubjectRequest.objects.get().via == "command"


def test_export_writes_a_file(person, tmp_path) -> None:
    target = tmp_path / "alice.json"
    call_command(
        "personalization_export",
        "--user",
        str(person.user.pk),
        "--output",
        str(target),
        stderr=io.StringIO(),
    )
    assert json.loads(target.read_text())["export"]["subject"] == "user"


@pytest.mark.parametrize(
    "command", [["personalization_export"], ["personalization_erase", "--yes"]], ids=str
)
@pytest.mark.parametrize(("user", "message"), [("123456", "no user"), ("abc", "not a user id")])
def test_an_unknown_user_is_refused(db, command, user, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command(*command, "--user", user)


def test_erase_with_yes_erases_and_prints_the_counts(person) -> None:
    out = io.StringIO()
    call_command("personalization_erase", "--user", str(person.user.pk), "--yes", stdout=out)
    assert "events: 6" in out.getvalue()
    assert not Visitor.objects.filter(user=person.user).exists()
    assert DataSubjectRequest.objects.get().status == "done"


def test_erase_without_yes_and_without_a_terminal_erases_nothing(person, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    with pytest.raises(CommandError, match="--yes"):
        call_command("personalization_erase", "--user", str(person.user.pk))
    assert Event.objects.filter(user=person.user).count() == 6


def test_erase_asks_on_a_terminal(person, monkeypatch) -> None:
    stdin = io.StringIO()
    stdin.isatty = lambda: True
    monkeypatch.setattr("sys.stdin", stdin)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError, match="Nothing was erased"):
        call_command("personalization_erase", "--user", str(person.user.pk))
    assert Event.objects.filter(user=person.user).count() == 6
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    call_command("personalization_erase", "--user", str(person.user.pk), stdout=io.StringIO())
    assert not Event.objects.filter(user=person.user).exists()
