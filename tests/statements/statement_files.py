"""Statements as banks write them, for the import tests: CSV, MT940 and camt.053 builders, and the
request that imports one."""
from __future__ import annotations

import base64
from typing import Any

from tests.conftest import Api, Reply

STATEMENTS = "/api/v1/billing/admin/statements"
LINES = "/api/v1/billing/admin/statement-lines"
IBAN_PK = "PK36MEZN0001010104567891"  # the Pakistan bank transfer method's account (the seed's)


def csv_statement(*rows: tuple[str, str, str, str, str], currency: str = "USD") -> bytes:
    """A bank's CSV export: (date, amount, description, counterparty, bank reference) rows."""
    lines = ["Account;" + IBAN_PK, "", "Booking date;Amount;Currency;Description;Payer;Bank reference"]
    lines += [f"{d};{a};{currency};{text};{who};{ref}" for d, a, text, who, ref in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def mt940(*entries: str, currency: str = "PKR", account: str = IBAN_PK) -> bytes:
    """One MT940 statement of `entries` (each a :61: line and its :86: lines)."""
    text = "\n".join([":20:STMT2612", f":25:{account}", ":28C:00001/001",
                      f":60F:C261130{currency}0,00", *entries, f":62F:C261202{currency}0,00", "-"])
    return (text + "\n").encode("utf-8")


def camt053(*entries: str, currency: str = "PKR") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:'
            f'xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-12-02T06:'
            f"00:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id><CreDtTm>2026-12-02T06:00:00</CreDtTm><Acct>"
            f"<Id><IBAN>{IBAN_PK}</IBAN></Id><Ccy>{currency}</Ccy></Acct>{''.join(entries)}</Stmt>"
            f"</BkToCstmrStmt></Document>").encode("utf-8")


def camt_entry(amount: str, currency: str = "PKR", *, booked: str = "2026-12-01",
               ustrd: str = "", ref: str = "", debtor: str = "KHAN MEDIA", sign: str = "CRDT",
               bank_reference: str = "BANK-1") -> str:
    strd = (f"<Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd>" if ref else "")
    return (f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd><Sts><Cd>BOOK'
            f"</Cd></Sts><BookgDt><Dt>{booked}</Dt></BookgDt><AcctSvcrRef>{bank_reference}"
            f"</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>{debtor}</Nm></Pty></Dbtr>"
            f"</RltdPties><RmtInf>{f'<Ustrd>{ustrd}</Ustrd>' if ustrd else ''}{strd}</RmtInf>"
            f"</TxDtls></NtryDtls></Ntry>")


def upload(api: Api, token: str, data: bytes, filename: str = "statement.csv",
           **extra: Any) -> Reply:
    return api.post(STATEMENTS, {"filename": filename,
                                 "content_base64": base64.b64encode(data).decode(), **extra},
                    token=token)


def imported(api: Api, token: str, data: bytes, filename: str = "statement.csv") -> dict[str, Any]:
    reply = upload(api, token, data, filename)
    assert reply.status == 201, reply.body
    return reply.body


def lines_of(api: Api, token: str, statement_id: str, status: str | None = None) -> list[dict]:
    """Every line of a statement (all pages), in the file's order."""
    items: list[dict] = []
    cursor = None
    while True:
        query = "&".join(part for part in (f"status={status}" if status else "",
                                           f"cursor={cursor}" if cursor else "", "limit=100") if part)
        reply = api.get(f"{STATEMENTS}/{statement_id}/lines?{query}", token=token)
        assert reply.status == 200, reply.body
        items += reply.body["items"]
        cursor = reply.body["next_cursor"]
        if not cursor:
            return items
