"""What an invoice's or receipt's PDF says, in reading order: made by `documents`, drawn by
`document_layout`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """A line of the invoice: what was bought, its details, its amount."""

    description: str
    details: tuple[str, ...]
    amount: str


@dataclass(frozen=True)
class Method:
    """A way to pay: its name, instructions, account details and what exactly to send."""

    name: str
    instructions: str
    details: tuple[tuple[str, str], ...]
    send: str | None


@dataclass(frozen=True)
class Received:
    """A payment approved against the invoice."""

    date: str
    method: str
    reference: str
    amount: str


@dataclass(frozen=True)
class Content:
    """Everything the document says, in reading order."""

    title: str  # "Invoice", or "Receipt" once paid
    number: str
    status: str
    stamp: tuple[str, ...]  # ("PAID", date), ("VOID", date) or ()
    seller: tuple[str, ...]  # the name first
    buyer: tuple[str, ...]  # the billing name first
    facts: tuple[tuple[str, str], ...]
    currency: str
    lines: tuple[Line, ...]
    totals: tuple[tuple[str, str, bool], ...]  # (label, amount, bold)
    quotes: tuple[str, ...]
    reference: str | None  # the payment reference, while there is something to pay
    due: str | None
    methods: tuple[Method, ...]
    received: tuple[Received, ...]
    page_url: str  # the web app's page of the invoice (no token in it)
    contact: str
