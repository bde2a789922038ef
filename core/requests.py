def client_ip(request) -> str | None:
    # Behind the load balancer the real address is the first hop it appended.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR")
