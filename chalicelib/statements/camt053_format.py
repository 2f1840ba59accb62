"""ISO 20022 camt.053 statements (versions 001.02 to 001.08), read by the elements' local names,
whatever the namespace, with defusedxml (imported here, on the first such file): a document type
declaration is refused, so no entity is ever expanded and nothing outside the file is read.

Each `Stmt`'s account is `Acct/Id/IBAN` (else `Acct/Id/Othr/Id`). Each booked `Ntry` (`Sts`
`BOOK`, or none; pending and information-only entries are left out) is a line with its
`Amt@Ccy`, signed by `CdtDbtInd` (`CRDT` in, `DBIT` out; a reversal, `RvslInd`, books in the
direction its own indicator says), booked on `BookgDt/Dt` or the date of `BookgDt/DtTm` as
written (else `ValDt`); an entry whose `NtryDtls` hold several `TxDtls` is one line per `TxDtls`,
with its own amount. From its `TxDtls`: the description is `RmtInf/Ustrd`
(several a space apart; else `AddtlTxInf`, else the entry's `AddtlNtryInf`), the reference
`RmtInf/Strd/CdtrRefInf/Ref`, the counterparty `RltdPties/Dbtr/Nm` (`Dbtr/Pty/Nm` in newer
versions) of a credit and the creditor of a debit, the bank reference `Refs/EndToEndId` (unless
`NOTPROVIDED`), else `Refs/AcctSvcrRef`, else the entry's `AcctSvcrRef`.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.statements.model import (Line, Statement, currency_code, invalid, one_line,
                                         optional, statement, to_minor)

_AMOUNT = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T.*)?", re.ASCII)
_SIGN = {"CRDT": 1, "DBIT": -1}
_NOT_BOOKED = {"PDNG", "INFO", "FUTR"}
_NOT_PROVIDED = ("NOTPROVIDED", "NONREF")
_ROOT = "Document/BkToCstmrStmt"
_OTHER_MESSAGES = {"BkToCstmrAcctRpt": "camt.052, an account report",
                   "BkToCstmrDbtCdtNtfctn": "camt.054, a debit/credit notification"}


def parse(data: bytes) -> Statement:
    """The statement of a camt.053 document (see the module's docstring)."""
    root = _document(data)
    lines: list[Line] = []
    accounts, currencies = set(), set()
    statements = _all(root, "Stmt")
    if not statements:
        raise invalid(f"{_ROOT}: no Stmt (statement) element.", element=_ROOT)
    for number, stmt in enumerate(statements, 1):
        path = f"{_ROOT}/Stmt[{number}]"
        account = optional(_text(stmt, "Acct", "Id", "IBAN") or _text(stmt, "Acct", "Id", "Othr",
                                                                       "Id"))
        accounts.add(account)
        currencies.add(_text(stmt, "Acct", "Ccy"))
        for index, entry in enumerate(_all(stmt, "Ntry"), 1):
            lines += _entry(entry, f"{path}/Ntry[{index}]", account)
    return statement("camt053", lines, accounts, currencies)


def _document(data: bytes) -> Any:
    """The BkToCstmrStmt element of a well-formed document without a DTD; refused otherwise."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        document = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:  # a DTD, an entity, an external reference
        raise invalid("The XML declares a document type (DTD) or entities: refused, as a bank "
                      f"statement has none and they are not expanded ({type(error).__name__}).",
                      element="!DOCTYPE") from None
    except ParseError as error:
        line, column = error.position
        raise invalid(f"Line {line}, column {column}: the XML is not well-formed "
                      f"({str(error).split(':')[0]}).", line=line, column=column) from None
    except LookupError as error:  # <?xml encoding="..."?> names no encoding Python knows
        raise invalid(f"Line 1: the XML declares an unknown encoding ({error}).",
                      line=1) from None
    if _local(document.tag) != "Document":
        raise invalid(f"The XML's root element is {_local(document.tag)}, not Document (a camt.053 "
                      "statement).", element=_local(document.tag))
    body = _first(document, "BkToCstmrStmt")
    if body is None:
        found = [_local(child.tag) for child in document]
        what = next((_OTHER_MESSAGES[name] for name in found if name in _OTHER_MESSAGES), None)
        raise invalid(f"Document has no BkToCstmrStmt (a camt.053 statement); it holds "
                      f"{', '.join(found) or 'nothing'}" + (f" ({what})." if what else "."),
                      element="Document")
    return body


# Entries ----------------------------------------------------------------------------------------

def _entry(entry: Any, path: str, account: str | None) -> list[Line]:
    status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
    if status in _NOT_BOOKED:
        return []
    amount, currency = _amount(entry, path)
    sign = _sign(entry, path)
    booked_at = _booked_at(entry, path)
    details = [tx for block in _all(entry, "NtryDtls") for tx in _all(block, "TxDtls")]
    if len(details) <= 1:
        return [_line(entry, details[0] if details else None, booked_at, sign * amount, currency,
                      account)]
    lines = []
    for index, tx in enumerate(details, 1):
        tx_path = f"{path}/NtryDtls/TxDtls[{index}]"
        holders = [(tx, tx_path)] + [(_find(tx, "AmtDtls", kind), f"{tx_path}/AmtDtls/{kind}")
                                     for kind in ("TxAmt", "InstdAmt")]
        holder = next((held for held in holders
                       if held[0] is not None and _first(held[0], "Amt") is not None), None)
        if holder is None:
            raise invalid(f"{tx_path}: no Amt (an entry of several transactions needs the amount "
                          "of each).", element=f"{tx_path}/Amt")
        tx_amount, tx_currency = _amount(*holder)
        tx_sign = _sign(tx, tx_path) if _first(tx, "CdtDbtInd") is not None else sign
        lines.append(_line(entry, tx, booked_at, tx_sign * tx_amount, tx_currency, account))
    return lines


def _amount(holder: Any, path: str) -> tuple[int, str]:
    element = _first(holder, "Amt")
    where = f"{path}/Amt"
    if element is None:
        raise invalid(f"{where}: missing (every entry has an amount).", element=where)
    text = (element.text or "").strip()
    try:
        currency = currency_code(element.get("Ccy") or "")
    except ValueError as error:
        raise invalid(f"{where}@Ccy: {error}.", element=f"{where}@Ccy") from None
    if not _AMOUNT.fullmatch(text):
        raise invalid(f"{where}: {text!r} is not an amount (digits, a point and decimals, no "
                      "sign).", element=where)
    try:
        return to_minor(Decimal(text), currency), currency
    except ValueError as error:
        raise invalid(f"{where}: {error}.", element=where) from None


def _sign(holder: Any, path: str) -> int:
    indicator = _text(holder, "CdtDbtInd")
    if indicator not in _SIGN:
        raise invalid(f"{path}/CdtDbtInd: {indicator!r} is neither CRDT nor DBIT.",
                      element=f"{path}/CdtDbtInd")
    return _SIGN[indicator]


def _booked_at(entry: Any, path: str) -> date:
    for name in ("BookgDt", "ValDt"):
        text = _text(entry, name, "Dt") or _text(entry, name, "DtTm")
        if text is None:
            continue
        if match := _DATE.fullmatch(text):
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                pass
        raise invalid(f"{path}/{name}: {text!r} is not a date (2026-02-01, or "
                      "2026-02-01T10:00:00).", element=f"{path}/{name}")
    raise invalid(f"{path}/BookgDt: missing (every entry has its booking date).",
                  element=f"{path}/BookgDt")


def _line(entry: Any, tx: Any | None, booked_at: date, minor: int, currency: str,
          account: str | None) -> Line:
    texts = [text for element in _all_at(tx, "RmtInf", "Ustrd")
             if (text := (element.text or "").strip())]
    text = "\n".join(texts) or _text(tx, "AddtlTxInf") or _text(entry, "AddtlNtryInf") or ""
    party = "Dbtr" if minor >= 0 else "Cdtr"  # the payer of a credit, the payee of a debit
    return Line(
        booked_at=booked_at, amount_minor=minor, currency=currency, description=one_line(text),
        raw=text,
        counterparty=optional(_text(tx, "RltdPties", party, "Nm")
                              or _text(tx, "RltdPties", party, "Pty", "Nm")),
        bank_reference=optional(_text(tx, "Refs", "EndToEndId"), *_NOT_PROVIDED)
        or optional(_text(tx, "Refs", "AcctSvcrRef")) or optional(_text(entry, "AcctSvcrRef")),
        reference=next((reference for structured in _all_at(tx, "RmtInf", "Strd")
                        if (reference := optional(_text(structured, "CdtrRefInf", "Ref")))), None),
        account=account)


# Elements by local name -------------------------------------------------------------------------

def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _all(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child.tag) == name]


def _first(element: Any, name: str) -> Any | None:
    return next((child for child in element if _local(child.tag) == name), None)


def _find(element: Any | None, *names: str) -> Any | None:
    for name in names:
        if element is None:
            return None
        element = _first(element, name)
    return element


def _all_at(element: Any | None, *names: str) -> list[Any]:
    parent = _find(element, *names[:-1])
    return _all(parent, names[-1]) if parent is not None else []


def _text(element: Any | None, *names: str) -> str | None:
    found = _find(element, *names)
    text = (found.text or "").strip() if found is not None else ""
    return text or None
