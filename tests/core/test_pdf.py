"""The page writer under the invoice PDFs: Helvetica's widths are Adobe's, text is written in
WinAnsiEncoding and read back as written, wrapping keeps every word within the width, and a
right-aligned amount ends where it is told."""
from __future__ import annotations

import io

import pypdf
import pytest
from pypdf._codecs.core_font_metrics import CORE_FONT_METRICS

from chalicelib.core import pdf
from chalicelib.core.countries import ISO_3166_ALPHA2
from chalicelib.core.country_names import NAMES, country_name
from chalicelib.core.pdf_fonts import FIRST_CODE, WIDTHS


@pytest.mark.parametrize("font", [pdf.REGULAR, pdf.BOLD])
def test_the_widths_are_the_afm_metrics_of_every_windows_1252_character(font: str) -> None:
    metrics = CORE_FONT_METRICS[font].character_widths
    table = WIDTHS[font]
    assert len(table) == 256 - FIRST_CODE
    for code in range(FIRST_CODE, 256):
        try:
            char = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            continue  # undefined in the encoding: never written
        char = {"\xa0": " ", "\xad": "-"}.get(char, char)
        assert table[code - FIRST_CODE] == metrics.get(char, metrics["default"]), (font, hex(code))


def test_text_is_encoded_as_windows_1252_and_what_it_lacks_is_a_question_mark() -> None:
    assert pdf.encode("Café — “24,964.50” €") == "Café — “24,964.50” €".encode("cp1252")
    assert pdf.encode("Łódź") == b"?\xf3dz"  # ź without its accent; Ł has no plain form
    assert pdf.encode("中文 Ltd") == b"?? Ltd"
    assert pdf.encode("a\u00a0b\tc\u00add\x00e\u200bf") == b"a b cdef"


def test_wrapped_lines_fit_their_width_and_keep_every_word() -> None:
    text = ("Transfer the PKR equivalent of the invoice amount at today's rate by IBFT or Raast to "
            "the account below. PK36MEZN0001010104567891PK36MEZN0001010104567891")
    for size, max_width in ((9, 120.0), (10, 237.0), (12, 60.0)):
        lines = pdf.wrap(text, max_width, pdf.REGULAR, size)
        assert all(pdf.width(line, pdf.REGULAR, size) <= max_width for line in lines), lines
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert pdf.wrap("one\ntwo", 500) == ["one", "two"] and pdf.wrap("", 100) == [""]


def test_what_is_written_reads_back_and_a_right_aligned_amount_ends_at_its_x() -> None:
    document = pdf.Document("Título (1)", "Ledgerline")
    document.text(50, 50, "Invoice (draft) \\ back-slash: Café 24,964.50 €", font=pdf.BOLD)
    document.text(545, 80, "PKR 24,964.50", align="right", size=11)
    document.stamp(300, 300, ["PAID", "4 Mar 2026"], color=(0.1, 0.5, 0.2))
    document.add_page()
    document.text(50, 50, "Second page")
    data = document.write(lambda doc, number, count: doc.text(
        50, doc.height - 40, f"Page {number} of {count}", size=8))
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2 and reader.metadata.title == "Título (1)"
    first = reader.pages[0].extract_text()
    for expected in ("Invoice (draft) \\ back-slash: Café 24,964.50 €", "PKR 24,964.50", "PAID",
                     "4 Mar 2026", "Page 1 of 2"):
        assert expected in first, expected
    assert "Page 2 of 2" in reader.pages[1].extract_text()
    # the amount's start (as the reader places it) plus its width is the right edge
    starts: dict[str, float] = {}
    reader.pages[0].extract_text(visitor_text=lambda text, cm, tm, *_: starts.setdefault(
        text.strip(), tm[4]))
    assert starts["PKR 24,964.50"] + pdf.width("PKR 24,964.50", size=11) == pytest.approx(545, abs=0.02)


def test_every_country_code_has_a_name_the_pdfs_can_print() -> None:
    assert set(NAMES) == set(ISO_3166_ALPHA2)
    for code, name in NAMES.items():
        assert name.strip() and b"?" not in pdf.encode(name), (code, name)
    assert (country_name("PK"), country_name("gb"), country_name("XX"), country_name(None)) == (
        "Pakistan", "United Kingdom", "XX", None)
