"""Statements broken at random (bytes cut, inserted, changed, the file truncated) are read or
refused with a 4xx, never a crash: a statement is untrusted input. Deterministic (derandomized,
no example database), 200 examples, about a second."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from chalicelib.core.errors import AppError
from chalicelib.statements.parse import parse

DATA = Path(__file__).parent / "data"
SEEDS = [path.read_bytes() for path in sorted(DATA.glob("*/*.sta")) + sorted(DATA.glob("*/*.xml"))
         if path.stat().st_size < 8000] + [
    b"Date,Description,Amount,Currency,Reference\n2026-02-01,\"PR-7K4Q-\nX9M6\",\"1,234.50\",EUR,"
    b"abc\n02/03/2026,\"fee, monthly\",(12.00),EUR,\n",
    "Booking date;Details;Paid in;Paid out;Currency\n01.02.2026;pr 7k4q x9m6;1.234,50;;EUR\n"
    "02.02.2026;fee;;12,00;EUR\n".encode(),
]
PIECES = [b":", b"?", b"/", b"\n", b"\r\n", b",", b".", b";", b"-", b"(", b")", b"<", b">", b"&",
          b'"', b" ", b"0", b"9", b"C", b"D", b"RC", b"N", b"EUR", b":61:", b":86:", b":62F:",
          b"?20", b"</Ntry>", b"<Ntry>", b"\xff", b"\x00", b"\xe2\x82\xac", b"13/02/2026"]


@st.composite
def broken(draw: st.DrawFn) -> tuple[str, bytes]:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["cut", "insert", "truncate", "replace"]))
        if edit == "cut":
            del data[at:at + draw(st.integers(1, 40))]
        elif edit == "insert":
            data[at:at] = draw(st.sampled_from(PIECES))
        elif edit == "truncate":
            del data[at:]
        elif data:
            data[min(at, len(data) - 1)] = draw(st.sampled_from(PIECES))[0]
    return draw(st.sampled_from(["s.csv", "s.sta", "s.xml", "s"])), bytes(data)


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(broken())
def test_a_broken_statement_is_read_or_refused_never_a_crash(case: tuple[str, bytes]) -> None:
    name, data = case
    try:
        result = parse(name, data)
    except AppError as error:
        assert error.status in (413, 422) and error.message
        assert error.code in ("statement_invalid", "statement_format_unknown")
        return
    for line in result.lines:
        assert type(line.amount_minor) is int and type(line.booked_at) is date
        assert isinstance(line.description, str) and len(line.currency) == 3
