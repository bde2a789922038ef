"""What the operator needs to know during a rotation: which key each stored token and index
is under, so a retired key is dropped only when nothing uses it any more."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Case, CharField, Count, Value, When
from django.db.models.functions import Substr

from people.identity import blind_index_keys, field_keyring, integrity_key_id, key_id
from people.keys.columns import encrypted_columns

NO_VALUE, UNNAMED = "", "v1"


@dataclass(frozen=True)
class KeyCount:
    column: str
    key_id: str  # "" for empty values, "v1" for tokens that name no key, "?" for an index under no configured key
    rows: int


def field_key_counts(columns: list[str] | None = None) -> list[KeyCount]:
    """Tokens per field key id per column, grouped in the database (no decryption)."""
    counts = []
    for column in encrypted_columns(columns):
        named = Case(
            When(**{column.field: ""}, then=Value(NO_VALUE)),
            When(**{f"{column.field}__startswith": "v2:"}, then=Substr(column.field, 4, 8)),
            default=Value(UNNAMED), output_field=CharField(),
        )
        rows = column.rows().order_by().annotate(key=named).values("key").annotate(rows=Count("pk"))
        counts += [KeyCount(column.label, row["key"], row["rows"]) for row in rows.order_by("key")]
    return counts


def index_key_counts(columns: list[str] | None = None, *, batch_size: int = 2000) -> list[KeyCount]:
    """Blind indexes per blind-index key id per column. An index names no key, so each row is
    decrypted and its index recomputed under every configured key: a full pass over the table."""
    keys = blind_index_keys()
    counts = []
    for column in encrypted_columns(columns):
        if not column.index_field or column.index_under is None:
            continue
        tally: Counter[str] = Counter()
        last = 0
        rows = column.rows().exclude(**{column.field: ""}).order_by("pk")
        while True:
            batch = list(rows.filter(pk__gt=last).values_list("pk", column.field, column.index_field)[:batch_size])
            if not batch:
                break
            for _, token, index in batch:
                value = field_keyring().decrypt(token, column.associated)
                tally[next((key_id(key) for key in keys.all if column.index_under(key, value) == index), "?")] += 1
            last = batch[-1][0]
        counts += [KeyCount(column.label, name, rows) for name, rows in sorted(tally.items())]
    return counts


def key_summary() -> dict:
    """The configured key ids (never the keys)."""
    keyring, keys = field_keyring(), blind_index_keys()
    return {
        "field": {"current": keyring.current.key_id, "retired": [c.key_id for c in keyring.retired]},
        "blind_index": {"current": key_id(keys.current), "retired": [key_id(k) for k in keys.retired]},
        "integrity": integrity_key_id(),
    }
