"""Every encrypted column in the project, with its blind index if it has one. Key rotation
re-encrypts and reindexes exactly these; a test compares this list with the models' fields, so
a new encrypted column cannot be left behind under a retired key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from accounts.mobile import PURPOSE as MOBILE_PURPOSE
from people.identity import ID_PURPOSE, id_index_under, keyed_index_under


@dataclass(frozen=True)
class EncryptedColumn:
    model: str  # "app_label.Model"
    field: str
    associated: bytes  # the associated data that binds its tokens to this column
    index_field: str = ""  # the blind index recomputed from the decrypted value, if any
    index_under: Callable[[bytes, str], str] | None = None  # (blind-index key, value) -> index

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"

    def rows(self) -> models.QuerySet:
        """All rows, past any scoping manager: an operator's command over the whole table."""
        manager = apps.get_model(self.model)._default_manager
        unscoped = getattr(manager, "dangerously_unscoped", None)
        return unscoped() if unscoped is not None else manager.all()


def _mobile_index_under(key: bytes, number: str) -> str:
    return keyed_index_under(key, MOBILE_PURPOSE, number)


# The index functions are those the lookups use (people.identity.id_blind_index,
# accounts.mobile.mobile_index), with the key as a parameter.
ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("people.Teacher", "id_cipher", ID_PURPOSE, "id_index", id_index_under),
    EncryptedColumn("accounts.User", "mobile_cipher", MOBILE_PURPOSE.encode(), "mobile_index", _mobile_index_under),
)


def encrypted_columns(labels: list[str] | None = None) -> list[EncryptedColumn]:
    """The registered columns, or those named (ValueError for a name not registered)."""
    if not labels:
        return list(ENCRYPTED_COLUMNS)
    by_label = {column.label: column for column in ENCRYPTED_COLUMNS}
    unknown = [label for label in labels if label not in by_label]
    if unknown:
        raise ValueError(f"not an encrypted column: {', '.join(unknown)} (known: {', '.join(by_label)})")
    return [by_label[label] for label in labels]
