"""Key rotation over the encrypted columns: re-encrypt under the current field key, recompute
blind indexes under the current blind-index key. Both walk each table by primary key in
batches, one transaction (rows locked) per batch, so they can be stopped and run again: rows
already done are skipped. Audited without any personal data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from audit.actions import Action
from audit.services import audit_record
from people.identity import blind_index_keys, field_keyring, key_id
from people.keys.columns import EncryptedColumn, encrypted_columns

Progress = Callable[[str], None]


@dataclass
class ColumnPass:
    column: str
    examined: int = 0
    changed: int = 0
    last_id: int = 0

    def as_dict(self) -> dict:
        return {"column": self.column, "examined": self.examined, "changed": self.changed, "last_id": self.last_id}


def _walk(column: EncryptedColumn, *, read: list[str], write: list[str], skip: dict, change: Callable, batch_size: int,
          after_id: int, progress: Progress) -> ColumnPass:
    """Lock, change and save one batch at a time, keyset-paginated by id. `change(row)` says
    whether it altered the row."""
    result = ColumnPass(column.label, last_id=after_id)
    pending = column.rows().exclude(**{column.field: ""})
    if skip:
        pending = pending.exclude(**skip)
    while True:
        with transaction.atomic():
            rows = list(pending.select_for_update().filter(pk__gt=result.last_id).order_by("pk")
                        .only("pk", *read)[:batch_size])
            if not rows:
                break
            changed = [row for row in rows if change(row)]
            column.rows().bulk_update(changed, write)
        result.examined += len(rows)
        result.changed += len(changed)
        result.last_id = rows[-1].pk
        progress(f"{column.label}: {result.changed} changed of {result.examined} examined, up to id {result.last_id}")
    return result


def rotate_field(*, columns: list[str] | None = None, batch_size: int = 1000, after_id: int = 0,
                 progress: Progress = lambda _: None) -> list[ColumnPass]:
    """Re-encrypt every token not already under the current field key (v1 tokens and those of
    retired keys); tokens under the current key are skipped, so a second run changes nothing."""
    keyring = field_keyring()
    chosen = encrypted_columns(columns)
    detail = {"key_id": keyring.current.key_id, "retired": [c.key_id for c in keyring.retired],
              "columns": [c.label for c in chosen]}
    audit_record(action=Action.KEYS_ROTATE_FIELD, object_type="keys", object_id="field", result="started", detail=detail)
    passes = []
    for column in chosen:
        def reencrypt(row, column=column) -> bool:
            token = getattr(row, column.field)
            setattr(row, column.field, keyring.encrypt(keyring.decrypt(token, column.associated), column.associated))
            return True

        passes.append(_walk(column, read=[column.field], write=[column.field], skip={f"{column.field}__startswith": keyring.current.prefix},
                            change=reencrypt, batch_size=batch_size, after_id=after_id, progress=progress))
    audit_record(action=Action.KEYS_ROTATE_FIELD, object_type="keys", object_id="field",
                 detail={**detail, "passes": [p.as_dict() for p in passes]})
    return passes


def reindex(*, columns: list[str] | None = None, batch_size: int = 1000, after_id: int = 0,
            progress: Progress = lambda _: None) -> list[ColumnPass]:
    """Recompute every blind index from the decrypted value under the current blind-index key;
    an index already right is left alone."""
    keyring, keys = field_keyring(), blind_index_keys()
    chosen = [c for c in encrypted_columns(columns) if c.index_field and c.index_under is not None]
    detail = {"key_id": key_id(keys.current), "retired": [key_id(k) for k in keys.retired],
              "columns": [c.label for c in chosen]}
    audit_record(action=Action.KEYS_REINDEX, object_type="keys", object_id="blind_index", result="started", detail=detail)
    passes = []
    for column in chosen:
        def recompute(row, column=column) -> bool:
            assert column.index_under is not None
            index = column.index_under(keys.current, keyring.decrypt(getattr(row, column.field), column.associated))
            if getattr(row, column.index_field) == index:
                return False
            setattr(row, column.index_field, index)
            return True

        passes.append(_walk(column, read=[column.field, column.index_field], write=[column.index_field], skip={}, change=recompute,
                            batch_size=batch_size, after_id=after_id, progress=progress))
    audit_record(action=Action.KEYS_REINDEX, object_type="keys", object_id="blind_index",
                 detail={**detail, "passes": [p.as_dict() for p in passes]})
    return passes
