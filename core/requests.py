import ipaddress

from django.conf import settings
from django.core.exceptions import PermissionDenied


def client_ip(request) -> str | None:
    """The caller's address, for log-in limits and the audit log.

    X-Forwarded-For is trusted only as far as our own proxies wrote it: each of
    the TRUSTED_PROXY_HOPS proxies appends the address it saw, so the real
    client is that many entries from the right. Anything further left was sent
    by the client and would let it dodge the per-address limit or forge the
    audited IP. A value that is not an IP address is never returned (the audit
    column is `inet` on PostgreSQL)."""
    candidates = []
    hops = settings.TRUSTED_PROXY_HOPS
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= hops:
            candidates.append(forwarded[-hops])
    candidates.append(request.META.get("REMOTE_ADDR"))
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate or "")
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            continue  # "fe80::1%eth0" is a valid address but not a valid `inet`
        return str(address)
    return None


def object_id(value) -> int:
    """A database id from user input, or 0 (which matches nothing) when it isn't one."""
    text = str(value or "").strip()
    # isdigit() alone is true for "²" or "①", which int() refuses.
    return int(text) if text.isascii() and text.isdigit() and len(text) < 18 else 0


def error_messages(error) -> list[str]:
    """Every message of a ValidationError, field by field, for a page or a refusal list."""
    if hasattr(error, "error_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return list(error.messages)


def error_text(error) -> str:
    """A ValidationError (or a refusal, PermissionDenied) as one Chinese line for a page's message."""
    if isinstance(error, PermissionDenied):
        return str(error) or "无权执行该操作"
    return "；".join(error_messages(error))


def year_param(value, default: int = 0) -> int:
    """A year from a query or form value (2000–2100), else `default`: junk never reaches a query."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default
    return year if 2000 <= year <= 2100 else default


def form_step(request, call, done: str) -> bool:
    """Run one write a page's form asks for (`call`, a service call): `done` as the success
    message, or its refusal (a ValidationError) as one Chinese error message. Whether it was done."""
    from django.contrib import messages
    from django.core.exceptions import ValidationError

    try:
        call()
    except ValidationError as error:
        messages.error(request, error_text(error))
        return False
    messages.success(request, done)
    return True

