"""The front of the parsers: what is too large, empty, binary or in no format is refused before
any format is tried; the format comes from the content first, the name's extension as a hint;
and the libraries of a format load only with its first file, never at `import app`."""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.core.errors import Invalid, PayloadTooLarge
from chalicelib.statements.model import MAX_BYTES
from chalicelib.statements.parse import parse
from tests.conftest import PROJECT_DIR
from tests.helpers import statement_refused

DATA = Path(__file__).parent / "data"
MT940 = (DATA / "mt940" / "jejik-ing.sta").read_bytes()
CAMT = (DATA / "camt053" / "camt053.v8.xml").read_bytes()
CSV = b"Date,Amount,Currency,Description\n2026-02-01,89.00,USD,PR-7K4Q-X9M6\n"


def unknown(name: str, data: bytes) -> Invalid:
    error = statement_refused(name, data, code="statement_format_unknown")
    assert "Expected a CSV file with a header row" in error.message
    assert "MT940" in error.message and "camt.053" in error.message
    return error


def test_binary_garbage_is_in_no_format() -> None:
    noise = random.Random(7).randbytes(20_000)
    assert "binary" in unknown("statement.csv", noise).message
    assert "binary" in unknown("statement.sta", bytes(range(1, 32)) * 500).message  # no NUL
    png = b"\x89PNG\r\n\x1a\n" + noise
    assert "binary" in unknown("receipt.png", png).message


@pytest.mark.parametrize("data", [b"", b"   \r\n\t\n", b"\xef\xbb\xbf"],
                         ids=["empty", "blank", "bom"])
def test_an_empty_file_is_in_no_format(data: bytes) -> None:
    assert "empty" in unknown("statement.csv", data).message


def test_text_in_no_format_is_refused_naming_what_was_expected() -> None:
    error = unknown("notes.txt", b"Dear bank,\nplease send my statement.\n")
    assert "'notes.txt' is in no statement format" in error.message
    assert error.details == {"formats": ["csv", "mt940", "camt053"]}


def test_over_4_mb_is_413_before_anything_is_read() -> None:
    # Given a 5 MB file (its content would be a good CSV)
    data = CSV + b"2026-02-01,1.00,USD,x\n" * (5 * 1024 * 1024 // 22)
    assert len(data) > 5_000_000
    with pytest.raises(PayloadTooLarge) as caught:
        parse("big.csv", data)
    assert (caught.value.status, caught.value.code) == (413, "statement_too_large")
    assert caught.value.details == {"size": len(data), "limit": MAX_BYTES}
    assert "at most 4 MB" in caught.value.message


def test_exactly_4_mb_is_read() -> None:
    # Given a camt.053 file padded with a comment to the limit exactly
    padding = MAX_BYTES - len(CAMT) - len(b"<!---->")
    data = CAMT.replace(b"<BkToCstmrStmt>", b"<!--" + b"x" * padding + b"--><BkToCstmrStmt>", 1)
    assert len(data) == MAX_BYTES
    assert len(parse("big.xml", data).lines) == 1
    with pytest.raises(PayloadTooLarge):
        parse("big.xml", data + b" ")


@pytest.mark.parametrize(("name", "data", "format"), [
    ("statement.sta", MT940, "mt940"), ("statement.csv", MT940, "mt940"),  # content first
    ("statement.xml", CAMT, "camt053"), ("export.txt", CAMT, "camt053"),
    ("statement.csv", CSV, "csv"), ("statement", CSV.replace(b",", b";"), "csv"),
    ("statement.tsv", CSV.replace(b",", b"\t"), "csv"),
    ("statement.sta", b"\xef\xbb\xbf" + MT940.replace(b"\n", b"\r\n"), "mt940"),
    ("statement.xml", CAMT.decode().replace('"UTF-8"', '"UTF-16"').encode("utf-16"), "camt053"),
], ids=["sta", "mt940-named-csv", "xml", "camt-named-txt", "csv", "semicolons", "tabs",
        "bom-crlf", "utf-16"])
def test_the_format_is_found_from_the_content(name: str, data: bytes, format: str) -> None:
    assert parse(name, data).format == format


def test_the_extension_decides_only_when_the_content_says_nothing() -> None:
    # An .sta file without MT940 fields gets the MT940 reader's own error, naming what is missing
    with pytest.raises(Invalid) as caught:
        parse("statement.sta", b"just some words\n")
    assert caught.value.code == "statement_invalid" and ":20:" in caught.value.message


def test_a_given_format_is_used_and_an_unknown_one_refused() -> None:
    with pytest.raises(Invalid) as caught:
        parse("statement.csv", MT940, format="csv")
    assert caught.value.code == "statement_invalid" and "header" in caught.value.message
    assert parse("x", CSV, format="csv").format == "csv"
    with pytest.raises(Invalid) as caught:
        parse("statement.pdf", CSV, format="pdf")
    assert caught.value.code == "statement_format_unknown" and "'pdf'" in caught.value.message


def test_the_mt940_library_logs_nothing_of_a_bad_file(caplog: pytest.LogCaptureFixture,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Invalid):
        parse("bad.sta", b":20:X\n:25:1\n:60F:C260131EUR1,00\n:61:26XX\n:62F:C260131EUR1,00\n")
    assert not [record for record in caplog.records if record.name.startswith("mt940")]
    assert "26XX" not in capsys.readouterr().err


def test_the_format_libraries_load_with_their_first_file_only() -> None:
    # Given a fresh interpreter: `import app`, then the parsers' front, then one CSV and one MT940
    script = (
        "import sys, app\n"
        "from chalicelib.statements.parse import parse\n"
        "watched = ('mt940', 'defusedxml', 'chalicelib.statements.csv_format', "
        "'chalicelib.statements.mt940_format')\n"
        "loaded = lambda: sorted(m for m in watched if m in sys.modules)\n"
        "print(loaded())\n"
        f"parse('a.csv', {CSV!r}); print(loaded())\n"
        f"parse('a.sta', {MT940!r}); print(loaded())\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, check=True,
                         capture_output=True, text=True,
                         env={"JWT_SECRET": "x" * 40, "PATH": "/usr/bin",
                              "PYTHONDONTWRITEBYTECODE": "1"}).stdout.splitlines()
    # Then neither library is loaded until a file of its format is read, and defusedxml not at all
    assert out == ["[]", "['chalicelib.statements.csv_format']",
                   "['chalicelib.statements.csv_format', 'chalicelib.statements.mt940_format', "
                   "'mt940']"]
