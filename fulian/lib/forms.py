"""Form helpers shared by the apps' views (Django forms only, no domain imports)."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError


def add_errors(form, exc: ValidationError, rename: Mapping[str, str] | None = None) -> None:
    """Show an action's ValidationError on the form that fed it: each field's messages beside that field
    (``rename`` maps the action's field names to the form's), anything else above the form."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            name = rename.get(name, name)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
