"""``{% record_media record %}``: the photo and sign-in block of a record page (two queries)."""

from django import template
from django.utils import timezone

from fulian.ledger.actions import SIGNIN_HOURS
from fulian.ledger.media_queries import media_of
from fulian.ledger.views_media import qr_svg, signin_url

register = template.Library()


@register.inclusion_tag("ledger/media_block.html", takes_context=True)
def record_media(context, record):
    request = context["request"]
    media = media_of(request.user, record)
    sheet = media.sheet
    is_open = sheet is not None and sheet.is_open(timezone.now())
    url = signin_url(request, sheet) if sheet is not None else ""
    return {
        "record": record,
        "media": media,
        "sheet": sheet,
        "is_open": is_open,
        "signin_url": url,
        "qr": qr_svg(url) if is_open else "",
        "hours_choices": SIGNIN_HOURS,
        "error": context.get("media_error", ""),
        "success": context.get("media_success", ""),
    }
