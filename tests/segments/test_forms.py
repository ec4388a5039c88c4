"""The segment admin form: rule errors per JSON path, syntax errors with their position."""

from __future__ import annotations

import json

import pytest

from personalization.models import Segment
from personalization.segments.forms import SegmentForm

pytestmark = pytest.mark.django_db


def form(**data) -> SegmentForm:
    fields = {
        "name": "Test",
        "slug": "test",
        "description": "",
        "kind": "rule",
        "mode": "dynamic",
        "definition": "{}",
        "is_active": "on",
    }
    fields.update(data)
    if not isinstance(fields.get("rule", ""), str):
        fields["rule"] = json.dumps(fields["rule"])
    return SegmentForm(data=fields)


def test_a_valid_rule_saves() -> None:
    bound = form(rule={"events": {"name": "add_to_cart", "within": "30m"}, "count": {">=": 2}})
    assert bound.is_valid(), bound.errors
    segment = bound.save()
    assert segment.rule["count"] == {">=": 2}


def test_each_rule_problem_is_its_own_message_with_its_path() -> None:
    bound = form(
        rule={
            "all": [
                {"attr": "monetary", "op": "=>", "value": 5},
                {"events": {"name": "view", "within": "7 days"}, "count": {">=": "two"}},
            ]
        }
    )
    assert not bound.is_valid()
    messages = bound.errors["rule"]
    assert messages[0].startswith('$.all[0].op: unknown operator "=>"')
    assert any(m.startswith("$.all[1].events.within: invalid window '7 days'") for m in messages)
    assert any(m == "$.all[1].count.>=: a count compares with numbers" for m in messages)
    assert len(messages) == 3
    assert not Segment.objects.filter(slug="test").exists()


def test_a_json_syntax_error_says_where_and_only_once() -> None:
    bound = form(rule='{"attr": "sessions",\n "op": "<=" "value": 1}')
    assert not bound.is_valid()
    assert bound.errors["rule"] == ["Not valid JSON: Expecting ',' delimiter at line 2, column 13."]


def test_a_rule_segment_needs_a_rule() -> None:
    bound = form(rule="")
    assert not bound.is_valid()
    assert bound.errors["rule"] == ["A rule segment needs a rule."]


def test_only_rule_segments_have_rules_or_are_dynamic() -> None:
    bound = form(kind="manual", rule={"attr": "sessions", "op": "<=", "value": 1})
    assert not bound.is_valid()
    assert bound.errors["rule"] == ["Only rule segments have a rule; leave it empty."]
    assert bound.errors["mode"] == ["Only rule segments can be dynamic."]


def test_the_rule_is_shown_indented() -> None:
    segment = Segment.objects.get(slug="high-intent-shoppers")
    html = str(SegmentForm(instance=segment)["rule"])
    # Indented by two, whatever order the database keeps the keys in.
    assert "\n  &quot;events&quot;: {\n    &quot;" in html


def test_the_admin_shows_each_rule_error_in_the_rules_error_list(client) -> None:
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    rule = {"any": [{"attr": "sessions", "op": "=>", "value": 1}, {"session": {}}]}
    response = client.post(
        "/admin/personalization/segment/add/",
        {
            "name": "Broken",
            "slug": "broken",
            "kind": "rule",
            "mode": "dynamic",
            "rule": json.dumps(rule),
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["rule"]
    assert errors[0].startswith('$.any[0].op: unknown operator "=>"')
    assert errors[1] == "$.any[1].session: expected an object of attribute conditions"
    page = response.content.decode()
    assert '<ul class="errorlist' in page and "$.any[0].op: unknown operator" in page
    assert not Segment.objects.filter(slug="broken").exists()
