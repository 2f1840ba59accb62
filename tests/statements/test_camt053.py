"""camt.053 documents of every version from 001.02 to 001.08, read by local names: entries and
their transactions, remittance (`Ustrd`, `Strd/CdtrRefInf/Ref`), parties and references; and
hostile XML (a billion laughs, an external entity) refused without being expanded."""
from __future__ import annotations

import re
from datetime import date

import pytest

from chalicelib.billing.references import compact
from chalicelib.core.errors import Invalid
from chalicelib.statements.parse import parse
from tests.helpers import statement_lines, statement_refused

REFERENCE = "PR-7K4Q-X9M6"
IBAN = "DE89370400440532013000"


def party(name: str, version: int) -> str:
    """A party's name: `Pty/Nm` from 001.08 on, `Nm` before."""
    return f"<Pty><Nm>{name}</Nm></Pty>" if version >= 8 else f"<Nm>{name}</Nm>"


def entry(amount: str = "89.00", currency: str = "USD", sign: str = "CRDT",
          booked: str = "<Dt>2026-02-01</Dt>", details: str = "", status: str = "BOOK",
          extra: str = "", version: int = 8) -> str:
    status_xml = f"<Sts><Cd>{status}</Cd></Sts>" if version >= 8 else f"<Sts>{status}</Sts>"
    return (f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>{status_xml}'
            f"<BookgDt>{booked}</BookgDt><ValDt><Dt>2026-02-02</Dt></ValDt>"
            f"<AcctSvcrRef>BANK-REF-1</AcctSvcrRef>{extra}"
            f"<NtryDtls>{details}</NtryDtls></Ntry>")


def tx(ustrd: tuple[str, ...] = (), ref: str | None = None, debtor: str = "KHAN MEDIA",
       creditor: str = "BILLING LTD", e2e: str | None = None, amount: str = "",
       sign: str = "", version: int = 8) -> str:
    refs = f"<Refs><EndToEndId>{e2e}</EndToEndId></Refs>" if e2e else ""
    strd = (f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{ref}</Ref>"
            "</CdtrRefInf></Strd>") if ref else ""
    return (f"<TxDtls>{refs}{amount}{sign}<RltdPties><Dbtr>{party(debtor, version)}</Dbtr>"
            f"<Cdtr>{party(creditor, version)}</Cdtr></RltdPties>"
            f"<RmtInf>{''.join(f'<Ustrd>{u}</Ustrd>' for u in ustrd)}{strd}</RmtInf></TxDtls>")


def camt(*entries: str, version: int = 8, namespace: bool = True, account: str = "") -> bytes:
    ns = f' xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"' if namespace else ""
    acct = account or f"<Id><IBAN>{IBAN}</IBAN></Id><Ccy>USD</Ccy>"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document{ns}><BkToCstmrStmt>'
            f"<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-02-03T06:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>S1</Id><CreDtTm>2026-02-03T06:00:00</CreDtTm><Acct>{acct}</Acct>"
            f"{''.join(entries)}</Stmt></BkToCstmrStmt></Document>").encode("utf-8")


def read(data: bytes, name: str = "statement.xml") -> list:
    return statement_lines(name, data, "camt053")


def refused(data: bytes) -> Invalid:
    return statement_refused("statement.xml", data)


@pytest.mark.parametrize("version", range(2, 9))
def test_every_version_reads_the_same_line(version: int) -> None:
    # Given an entry of each version, its reference wrapped over two Ustrd
    data = camt(entry(version=version, details=tx(("Subscription PR-7K4Q-", "X9M6"),
                                                  e2e="E2E-77", version=version)),
                version=version)
    (line,) = read(data)
    # Then the Ustrd are joined with a space and the rest is read by local names
    assert (line.booked_at, line.amount_minor, line.currency) == (date(2026, 2, 1), 8900, "USD")
    assert line.description == "Subscription PR-7K4Q- X9M6"
    assert line.raw == "Subscription PR-7K4Q-\nX9M6"
    assert compact(REFERENCE) in compact(line.description)
    assert (line.counterparty, line.bank_reference, line.account) == ("KHAN MEDIA", "E2E-77",
                                                                      IBAN)


def test_no_namespace_or_a_prefixed_one_reads_alike() -> None:
    plain = camt(entry(details=tx(("pr 7k4q x9m6",))), namespace=False)
    prefixed = re.sub(rb"<(/?)(\w+)", rb"<\1c:\2", plain).replace(
        b"<c:Document>", b'<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">')
    assert b"<c:Ustrd>pr 7k4q x9m6</c:Ustrd>" in prefixed
    assert read(plain) == read(prefixed)
    assert read(plain)[0].description == "pr 7k4q x9m6"


def test_a_structured_creditor_reference_is_the_reference() -> None:
    (line,) = read(camt(entry(details=tx(ref="RF18539007547034"))))
    assert (line.reference, line.description) == ("RF18539007547034", "")


def test_a_debit_is_negative_and_its_counterparty_is_the_creditor() -> None:
    (line,) = read(camt(entry(sign="DBIT", amount="12.50", details=tx(("fee",)))))
    assert (line.amount_minor, line.counterparty) == (-1250, "BILLING LTD")


def test_an_entry_of_several_transactions_is_one_line_each_with_its_own_amount() -> None:
    batch = (tx(("first PR-7K4Q-X9M6",), amount='<Amt Ccy="USD">60.00</Amt>', debtor="A")
             + tx(("second",), debtor="B",
                  amount='<AmtDtls><TxAmt><Amt Ccy="USD">29.00</Amt></TxAmt></AmtDtls>'))
    lines = read(camt(entry(amount="89.00", details=batch)))
    assert [(line.amount_minor, line.counterparty, line.description) for line in lines] == [
        (6000, "A", "first PR-7K4Q-X9M6"), (2900, "B", "second")]


def test_a_date_and_time_is_read_as_its_own_date() -> None:
    (line,) = read(camt(entry(booked="<DtTm>2026-02-01T23:30:00-05:00</DtTm>")))
    assert line.booked_at == date(2026, 2, 1)  # not the 2nd, as in UTC


def test_pending_entries_are_left_out_and_a_not_provided_end_to_end_id_is_no_reference() -> None:
    lines = read(camt(entry(status="PDNG"), entry(details=tx(e2e="NOTPROVIDED"))))
    assert [line.bank_reference for line in lines] == ["BANK-REF-1"]


def test_other_minor_units_are_exact_too() -> None:
    (line,) = read(camt(entry(amount="1500", currency="JPY")))
    assert (line.amount_minor, line.currency) == (1500, "JPY")
    assert "more decimals than JPY has (0)" in refused(camt(entry(amount="1500.5",
                                                                  currency="JPY"))).message


def test_an_account_without_an_iban_is_its_other_id() -> None:
    result = parse("s.xml", camt(entry(), account="<Id><Othr><Id>0123456789</Id></Othr></Id>"))
    assert (result.account, result.lines[0].account, result.currency) == ("0123456789",
                                                                         "0123456789", "USD")


# Refused ----------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<BookgDt><Dt>2026-02-01</Dt></BookgDt><AddtlNtryInf>&lol9;</AddtlNtryInf></Ntry></Stmt>
</BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<BookgDt><Dt>2026-02-01</Dt></BookgDt><AddtlNtryInf>&secret;</AddtlNtryInf></Ntry></Stmt>
</BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "external"])
def test_a_dtd_is_refused_and_nothing_is_expanded_or_fetched(data: bytes) -> None:
    error = refused(data)
    assert error.details == {"element": "!DOCTYPE"} and "DTD" in error.message
    assert "root:" not in error.message and "lol" not in error.message


def test_xml_that_is_not_well_formed_is_refused_naming_line_and_column() -> None:
    data = camt(entry())
    error = refused(data[:200])
    assert error.details["line"] == 2 and "not well-formed" in error.message


@pytest.mark.parametrize(("change", "element", "says"), [
    ((b">89.00<", b">89,00<"), "Stmt[1]/Ntry[1]/Amt", "'89,00' is not an amount"),
    ((b">89.00<", b">89.005<"), "Stmt[1]/Ntry[1]/Amt", "more decimals than USD has (2)"),
    ((b' Ccy="USD"', b""), "Stmt[1]/Ntry[1]/Amt@Ccy", "is not a currency code"),
    ((b"CRDT", b"CREDIT"), "Stmt[1]/Ntry[1]/CdtDbtInd", "neither CRDT nor DBIT"),
    ((b"2026-02-01", b"01.02.2026"), "Stmt[1]/Ntry[1]/BookgDt", "is not a date"),
])
def test_a_bad_element_is_refused_naming_its_path(change: tuple[bytes, bytes], element: str,
                                                  says: str) -> None:
    data = camt(entry(), entry()).replace(*change, 1)
    error = refused(data)
    assert error.details == {"element": f"Document/BkToCstmrStmt/{element}"}
    assert error.message.startswith(f"Document/BkToCstmrStmt/{element}") and says in error.message


def test_a_transaction_of_several_without_its_amount_is_refused() -> None:
    error = refused(camt(entry(details=tx() + tx())))
    assert error.details == {
        "element": "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/NtryDtls/TxDtls[1]/Amt"}


def test_an_entry_without_a_date_is_refused() -> None:
    data = camt(entry()).replace(b"<BookgDt><Dt>2026-02-01</Dt></BookgDt>", b"")
    data = data.replace(b"<ValDt><Dt>2026-02-02</Dt></ValDt>", b"")
    assert refused(data).details == {"element": "Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/BookgDt"}


def test_another_iso_message_is_refused_saying_what_it_is() -> None:
    data = (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
            b"<BkToCstmrDbtCdtNtfctn><GrpHdr/></BkToCstmrDbtCdtNtfctn></Document>")
    error = refused(data)
    assert "camt.054" in error.message and error.details == {"element": "Document"}
    assert "not Document" in refused(b"<html><body>statement</body></html>").message
