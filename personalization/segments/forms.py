"""The admin form of segments: the rule as indented JSON, its errors one per rule path."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models.segments import Segment


class RuleField(forms.JSONField):
    """A JSON field that shows its value indented and says where a syntax error is."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)

    def to_python(self, value: Any) -> Any:
        if self.disabled or value in self.empty_values:
            return {} if value in self.empty_values else value
        if isinstance(value, (list, dict, int, float, forms.fields.JSONString)):
            return value
        try:
            return json.loads(value, cls=self.decoder)
        except json.JSONDecodeError as error:
            raise ValidationError(
                _("Not valid JSON: %(message)s at line %(line)d, column %(column)d."),
                code="invalid",
                params={"message": error.msg, "line": error.lineno, "column": error.colno},
            ) from error


class SegmentForm(forms.ModelForm):
    """Segments in the admin. A rule segment's rule is checked on save: each problem is shown
    on the rule field as its own message, starting with the JSON path of the node at fault
    (``$.all[1].op: unknown operator "=>"; ...``)."""

    rule = RuleField(
        label=_("Rule"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 80, "style": "font-family: monospace"}),
        help_text=_(
            'The JSON rule of a rule segment, e.g. {"events": {"name": "add_to_cart", '
            '"within": "30m"}, "count": {">=": 2}}. The language is described in '
            "docs/segments.md."
        ),
    )

    class Meta:
        model = Segment
        fields = ["name", "slug", "description", "kind", "mode", "rule", "definition", "is_active"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Segment.RULE and "rule" in cleaned and not cleaned["rule"]:
            self.add_error("rule", _("A rule segment needs a rule."))
        elif kind != Segment.RULE and cleaned.get("rule"):
            self.add_error("rule", _("Only rule segments have a rule; leave it empty."))
        return cleaned

    def add_error(self, field: str | None, error: Any) -> None:
        # The model's own check (Segment.clean) would repeat, in its words, a rule problem the
        # form has already reported (syntax error, empty rule).
        if (
            field is None
            and isinstance(error, ValidationError)
            and hasattr(error, "error_dict")
            and "rule" in error.error_dict
            and self.has_error("rule")
        ):
            rest = {name: errors for name, errors in error.error_dict.items() if name != "rule"}
            if not rest:
                return
            error = ValidationError(rest)
        super().add_error(field, error)
