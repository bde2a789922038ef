"""The two refusals of the access policy. Pages and the API turn them into 404 and 403
without code of their own: NotVisible is an Http404, Forbidden a PermissionDenied."""

from django.core.exceptions import PermissionDenied
from django.http import Http404


class NotVisible(Http404):
    """The row does not exist for this viewer (outside their jurisdiction, or absent):
    the same answer either way, so a refusal never confirms that a row exists."""


class Forbidden(PermissionDenied):
    """The viewer sees the row but may not do this to it (a city's 省直管县, say)."""
