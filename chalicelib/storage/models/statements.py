"""Imported bank statements and their lines.

A line's key is its fingerprint (bank account, booking date, amount, currency, normalized text and
reference): an import claims each line with a conditional put, so a line is stored once, ever, by
whichever statement brought it first. A second kind of item in the lines table, `match#<payment>`,
says that a statement line matched a pending confirmation (for the list of those no line has).
"""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta

LISTING = "statements"  # the one value of `listing`: every statement, newest first
MARKER = "match#"  # a marker item's key prefix: `match#<payment_id>`


class StatementListIndex(GlobalSecondaryIndex["StatementModel"]):
    """Every statement by import time."""

    class Meta:
        index_name = "by_import_time"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    imported_at = UnicodeAttribute(range_key=True)


class StatementModel(Model):
    """One imported file: `importing` while its lines are written, `imported` once all are; the
    counts are those of the import (the lines' own statuses say what happened since)."""

    class Meta(TableMeta):
        entity = "statements"

    statement_id = UnicodeAttribute(hash_key=True)
    listing = UnicodeAttribute(default=LISTING)
    status = UnicodeAttribute()
    filename = UnicodeAttribute()
    format = UnicodeAttribute()
    bank_account = UnicodeAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    imported_at = UnicodeAttribute()
    imported_by = UnicodeAttribute()
    lines = IntegerAttribute(default=0)
    new_lines = IntegerAttribute(default=0)
    duplicate_lines = IntegerAttribute(default=0)
    matched = IntegerAttribute(default=0)
    suggested = IntegerAttribute(default=0)
    unmatched = IntegerAttribute(default=0)
    ignored = IntegerAttribute(default=0)
    by_import_time = StatementListIndex()


class StatementLinesIndex(GlobalSecondaryIndex["StatementLineModel"]):
    """A statement's lines in the file's order (`position`, zero-padded)."""

    class Meta:
        index_name = "by_statement"
        projection = AllProjection()

    statement_id = UnicodeAttribute(hash_key=True)
    position = UnicodeAttribute(range_key=True)


class StatementLineModel(Model):
    """One booked entry of a statement, with what matching found and what the admin did.

    `status`: matched | suggested | unmatched | ignored | applied. `match` holds the invoice (and
    pending payment) found, the other candidates, and the evidence per criterion."""

    class Meta(TableMeta):
        entity = "statement_lines"

    line_id = UnicodeAttribute(hash_key=True)
    statement_id = UnicodeAttribute(null=True)  # None on a `match#` marker
    position = UnicodeAttribute(null=True)
    booked_at = UnicodeAttribute(null=True)  # YYYY-MM-DD
    amount_minor = IntegerAttribute(null=True)  # negative for money out
    currency = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    counterparty = UnicodeAttribute(null=True)
    bank_reference = UnicodeAttribute(null=True)
    reference = UnicodeAttribute(null=True)
    bank_account = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    match = MapAttribute[str, Any](null=True)
    created_at = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    payment_id = UnicodeAttribute(null=True)  # the payment an applied line approved or recorded
    ignore_reason = UnicodeAttribute(null=True)
    # On a `match#<payment_id>` marker: the line that matched that payment.
    matched_line_id = UnicodeAttribute(null=True)
    by_statement = StatementLinesIndex()
