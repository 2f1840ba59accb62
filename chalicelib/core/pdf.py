"""A small page writer over pydyf (a low-level PDF library): text in Helvetica and Helvetica-Bold
(standard fonts every reader has: nothing embedded), measured, wrapped and aligned; rules, boxes,
a stamp; A4 pages numbered when the document is written.

Positions are in points from the page's top-left corner (PDF's own origin is bottom-left). Text is
Windows-1252 (WinAnsiEncoding): a character outside it is written as "?". Loaded by the functions
that render documents, on their first use: never at `import app`.
"""
from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Callable, Sequence

import pydyf

from chalicelib.core.pdf_fonts import ASCENT, FIRST_CODE, WIDTHS

A4 = (595.28, 841.89)
REGULAR, BOLD = "Helvetica", "Helvetica-Bold"
_FONT_NAMES = {REGULAR: "F1", BOLD: "F2"}
Color = tuple[float, float, float]
BLACK: Color = (0.0, 0.0, 0.0)
_SPACES = {"\u00a0": " ", "\u2007": " ", "\u202f": " ", "\t": " ", "\u00ad": ""}


def encode(text: str) -> bytes:
    """Text as WinAnsiEncoding bytes: spaces of every kind as a space, other control characters
    dropped, anything the encoding lacks as "?" (after trying its accent-less form)."""
    if text.isascii() and text.isprintable():  # nearly all text: nothing to look at
        return text.encode("ascii")
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        char = _SPACES.get(char, char)
        if not char or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            continue
        try:
            out += char.encode("cp1252")
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("cp1252", "ignore")
            out += plain if plain.isalnum() else b"?"
    return bytes(out)


def width(text: str, font: str = REGULAR, size: float = 10) -> float:
    """The advance width of `text` set in `font` at `size`, in points."""
    widths = WIDTHS[font]
    return sum(widths[code - FIRST_CODE] for code in encode(text) if code >= FIRST_CODE) * size / 1000


def wrap(text: str, max_width: float, font: str = REGULAR, size: float = 10) -> list[str]:
    """`text` in lines no wider than `max_width` (its own line breaks kept; a word too long for a
    line is cut)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if width(candidate, font, size) <= max_width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while width(word, font, size) > max_width and len(word) > 1:
                cut = 1
                while cut < len(word) and width(word[:cut + 1], font, size) <= max_width:
                    cut += 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


class Document:
    """Pages drawn top-down; `write()` adds the footers (which know the page count) and returns
    the PDF's bytes."""

    def __init__(self, title: str, author: str, size: tuple[float, float] = A4) -> None:
        self.title, self.author = title, author
        self.width, self.height = size
        self.pages: list[pydyf.Stream] = []
        self._stream = self.add_page()

    def add_page(self) -> pydyf.Stream:
        """Start a new page: what is drawn next goes on it."""
        self._stream = pydyf.Stream(compress=True)
        self.pages.append(self._stream)
        return self._stream

    def text(self, x: float, top: float, text: str, *, font: str = REGULAR, size: float = 10,
             color: Color = BLACK, align: str = "left") -> float:
        """Write one line whose cap height starts `top` points from the page's top, starting at
        `x` (align left), ending at it (right) or centred on it (center); its width."""
        advance = width(text, font, size)
        left = x - advance if align == "right" else x - advance / 2 if align == "center" else x
        baseline = self.height - top - ASCENT * size / 1000
        stream = self._stream
        stream.begin_text()
        stream.set_color_rgb(*color)
        stream.set_font_size(_FONT_NAMES[font], size)
        stream.set_text_matrix(1, 0, 0, 1, round(left, 2), round(baseline, 2))
        stream.show_text_string(encode(text))
        stream.end_text()
        return advance

    def rule(self, x1: float, top1: float, x2: float, top2: float, *, line_width: float = 0.5,
             color: Color = BLACK) -> None:
        """A straight line."""
        stream = self._stream
        stream.push_state()
        stream.set_line_width(line_width)
        stream.set_color_rgb(*color, stroke=True)
        stream.move_to(round(x1, 2), round(self.height - top1, 2))
        stream.line_to(round(x2, 2), round(self.height - top2, 2))
        stream.stroke()
        stream.pop_state()

    def box(self, x: float, top: float, w: float, h: float, *, fill: Color | None = None,
            stroke: Color | None = None, line_width: float = 0.5) -> None:
        """A rectangle, filled and/or outlined."""
        stream = self._stream
        stream.push_state()
        stream.set_line_width(line_width)
        if fill:
            stream.set_color_rgb(*fill)
        if stroke:
            stream.set_color_rgb(*stroke, stroke=True)
        stream.rectangle(round(x, 2), round(self.height - top - h, 2), round(w, 2), round(h, 2))
        if fill and stroke:
            stream.fill_and_stroke()
        elif fill:
            stream.fill()
        else:
            stream.stroke()
        stream.pop_state()

    def stamp(self, x: float, top: float, lines: Sequence[str], *, color: Color,
              size: float = 26, angle: float = 12) -> None:
        """A rubber stamp: bold lines (the first large) in a double frame, turned `angle` degrees
        counter-clockwise about its centre, which is `x` from the left and `top` from the top."""
        sizes = [size] + [size * 0.38] * (len(lines) - 1)
        gaps = [s * 0.35 for s in sizes]
        inner_w = max(width(line, BOLD, s) for line, s in zip(lines, sizes)) + size * 0.8
        inner_h = sum(s * ASCENT / 1000 for s in sizes) + sum(gaps) + size * 0.35
        turn = math.radians(angle)
        cos, sin = math.cos(turn), math.sin(turn)
        stream = self._stream
        stream.push_state()
        stream.set_matrix(cos, sin, -sin, cos, round(x, 2), round(self.height - top, 2))
        stream.set_color_rgb(*color, stroke=True)
        for pad, line_width in ((0.0, 2.2), (4.0, 0.8)):
            stream.set_line_width(line_width)
            stream.rectangle(-inner_w / 2 - pad, -inner_h / 2 - pad, inner_w + 2 * pad,
                             inner_h + 2 * pad)
            stream.stroke()
        baseline = inner_h / 2 - size * 0.35 / 2
        for line, s, gap in zip(lines, sizes, gaps):
            baseline -= s * ASCENT / 1000
            stream.begin_text()
            stream.set_color_rgb(*color)
            stream.set_font_size(_FONT_NAMES[BOLD], s)
            stream.set_text_matrix(1, 0, 0, 1, round(-width(line, BOLD, s) / 2, 2), round(baseline, 2))
            stream.show_text_string(encode(line))
            stream.end_text()
            baseline -= gap
        stream.pop_state()

    def write(self, footer: Callable[[Document, int, int], None] | None = None) -> bytes:
        """The PDF: every page, each with `footer(document, page number, page count)` drawn last."""
        pdf = pydyf.PDF()
        fonts = {}
        for font, key in _FONT_NAMES.items():
            fonts[key] = pydyf.Dictionary({"Type": "/Font", "Subtype": "/Type1",
                                           "BaseFont": pydyf.name(font),
                                           "Encoding": "/WinAnsiEncoding"})
            pdf.add_object(fonts[key])
        resources = pydyf.Dictionary({"Font": pydyf.Dictionary(
            {key: font.reference for key, font in fonts.items()})})
        pdf.add_object(resources)
        for number, page in enumerate(self.pages, start=1):
            if footer is not None:
                self._stream = page
                footer(self, number, len(self.pages))
            pdf.add_object(page)
            pdf.add_page(pydyf.Dictionary({
                "Type": "/Page", "Parent": pdf.pages.reference,
                "MediaBox": pydyf.Array([0, 0, self.width, self.height]),
                "Contents": page.reference, "Resources": resources.reference}))
        pdf.info["Title"] = pydyf.String(self.title)
        pdf.info["Author"] = pydyf.String(self.author)
        pdf.info["Creator"] = pydyf.String("Billing API")
        output = io.BytesIO()
        pdf.write(output, version=b"1.7", identifier=True, compress=True)
        return output.getvalue()
