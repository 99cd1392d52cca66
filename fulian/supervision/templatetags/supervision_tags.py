"""``{% todo_block %}``: 我的待办 on any page (the unit page shows it first thing after sign-in)."""

from django import template
from django.utils import timezone

from fulian.supervision.queries import my_todo, submitting_unit_ids

register = template.Library()


@register.inclusion_tag("supervision/_todo_block.html", takes_context=True)
def todo_block(context, limit: int = 10):
    user = context["request"].user
    show = bool(submitting_unit_ids(user))  # only people who submit for a unit have a to-do list
    return {"todo": my_todo(user, limit=limit) if show else [], "show": show, "today": timezone.localdate()}
