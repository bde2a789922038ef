"""WhiteNoise headers for static files."""

ONE_YEAR = 365 * 24 * 3600


def cache_hashed_for_a_year(headers, path, url) -> None:
    """A file whose name carries its content hash never changes: WhiteNoise marks it immutable
    (for ten years); say one year, the longest lifetime HTTP caches are asked to honour."""
    if "immutable" in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = f"max-age={ONE_YEAR}, public, immutable"
