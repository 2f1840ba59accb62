"""Transactions written in DynamoDB's own JSON, for the one path where PynamoDB's model and
expression building costs more than the call's client side (a credit consumption: credits/wire.py).
Everything else goes through `store.Tx`."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.storage.store import TransactionCancelled, aws_code, connection, guard


def commit_items(labelled: list[tuple[str, dict[str, Any]]]) -> None:
    """Commit a transaction already written in DynamoDB's own JSON: (label, TransactItem) each, in
    order; raise TransactionCancelled as `Tx.commit` does (with the items a failed condition
    returned, in the same low-level form)."""
    try:
        with guard():
            connection().client.transact_write_items(TransactItems=[item for _, item in labelled])
    except ClientError as exc:
        if aws_code(exc) != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons") or []
        failed = {label: reason.get("Item") for (label, _), reason in zip(labelled, reasons)
                  if reason.get("Code") == "ConditionalCheckFailed"}
        if not failed:
            raise
        raise TransactionCancelled(list(failed), failed) from exc
