"""Bootstrap markup for every Django form, allauth's included, without a form library.

Django 5.2 lets the project's form renderer choose the templates and the bound field
class: inputs get Bootstrap's classes, invalid ones ``is-invalid`` and an
``aria-describedby`` pointing at their error.
"""

from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting

_CHECKS = (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)


class BootstrapBoundField(BoundField):
    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if isinstance(widget, forms.HiddenInput):
            return attrs
        if isinstance(widget, _CHECKS):
            base = "form-check-input"
        elif isinstance(widget, forms.Select):
            base = "form-select"
        else:
            base = "form-control"
        classes = [attrs.get("class", ""), widget.attrs.get("class", ""), base]
        if self.form.is_bound and self.errors:
            classes.append("is-invalid")
            attrs["aria-describedby"] = f"{self.auto_id}_error"
        attrs["class"] = " ".join(c for c in classes if c)
        return attrs


class BootstrapFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
    bound_field_class = BootstrapBoundField
