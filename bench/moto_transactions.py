"""moto's TransactWriteItems without its whole-table copies, for benchmarks over large stores.

Before writing, moto deep-copies every table a transaction touches, to restore them if a condition
fails: each transaction costs time in proportion to the store (a sweep of 200 renewals takes ~17 s,
of 10,000 hours). `item_level_rollback` backs up only the items the transaction names (and the
length of their tables' streams) and restores those instead: the same writes, the same errors,
the same state after a cancelled transaction.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def item_level_rollback() -> Iterator[None]:
    """moto's TransactWriteItems backing up (for its rollback) only the items the transaction
    names, instead of deep-copying every table it touches; the same writes, the same errors."""
    from moto.dynamodb import models as moto_models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    backend_class = moto_models.DynamoDBBackend
    original = backend_class.transact_write_items

    class NoTableCopies:  # what moto's module sees as `copy` while a transaction runs
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[Any, Any, Any, Any]] = []
        streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            op = next(iter(entry.values()), {})
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            try:
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                item = table.get_item(hash_value, range_value)
            except Exception:  # a malformed key: moto raises it below, before writing anything
                continue
            saved.append((table, hash_value, range_value, copy.deepcopy(item)))
            if table.stream_shard is not None:
                streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
        moto_models.copy = NoTableCopies  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                if item is None:
                    (table.items[hash_value].pop(range_value, None) if range_value is not None
                     else table.items.pop(hash_value, None))
                elif range_value is not None:
                    table.items[hash_value][range_value] = item
                else:
                    table.items[hash_value] = item
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            moto_models.copy = copy  # type: ignore[assignment]

    global _original
    _original = original
    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        backend_class.transact_write_items = original  # type: ignore[method-assign]


_original: Any = None  # moto's own, while `item_level_rollback` replaces it


@contextmanager
def stock() -> Iterator[None]:
    """moto's own TransactWriteItems again, inside an `item_level_rollback` block."""
    from moto.dynamodb import models as moto_models

    backend_class = moto_models.DynamoDBBackend
    lean = backend_class.transact_write_items
    backend_class.transact_write_items = _original  # type: ignore[method-assign]
    try:
        yield
    finally:
        backend_class.transact_write_items = lean  # type: ignore[method-assign]
