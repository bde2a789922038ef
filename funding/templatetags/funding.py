"""Money on funding pages: ¥1,234,567.89, or — for no figure."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def yuan(value) -> str:
    if value is None or value == "":
        return "—"
    return f"¥{Decimal(value):,.2f}"


@register.filter
def ratio(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):.2f}%"
