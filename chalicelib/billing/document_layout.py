"""Where an invoice's or receipt's content (`document_content.Content`) goes on A4 pages: the seller and
the title, the facts, the buyer and the stamp, the lines and totals, the quotes, how to pay or the
payments received; a footer with the page number on every page. Loaded on the first render."""
from __future__ import annotations

from chalicelib.billing.document_content import Content, Method
from chalicelib.core import pdf
from chalicelib.core.pdf import BOLD, REGULAR

LEFT, TOP, BOTTOM = 50.0, 50.0, 64.0  # margins, in points
GREY: pdf.Color = (0.38, 0.42, 0.47)
RULE: pdf.Color = (0.80, 0.82, 0.85)
SHADE: pdf.Color = (0.95, 0.96, 0.97)
PAID: pdf.Color = (0.09, 0.50, 0.24)
VOID: pdf.Color = (0.72, 0.11, 0.11)


class _Pen:
    """A position going down the pages of a document: a new page when the next block does not
    fit on this one."""

    def __init__(self, document: pdf.Document, content: Content) -> None:
        self.doc, self.content = document, content
        self.right = document.width - LEFT
        self.y = TOP

    def need(self, height: float) -> None:
        if self.y + height > self.doc.height - BOTTOM:
            self.doc.add_page()
            self.y = TOP
            self.doc.text(LEFT, self.y, f"{self.content.title} {self.content.number} (continued)",
                          font=BOLD, size=9, color=GREY)
            self.y += 22

    def heading(self, text: str, space_after: float = 16) -> None:
        self.need(40)
        self.y += 12
        self.doc.text(LEFT, self.y, text, font=BOLD, size=11)
        self.y += 15
        self.doc.rule(LEFT, self.y, self.right, self.y, color=RULE)
        self.y += space_after - 8

    def paragraph(self, text: str, *, x: float = LEFT, size: float = 9, font: str = REGULAR,
                  color: pdf.Color = pdf.BLACK, leading: float = 1.35) -> None:
        for line in pdf.wrap(text, self.right - x, font, size):
            self.need(size * leading)
            self.doc.text(x, self.y, line, font=font, size=size, color=color)
            self.y += size * leading


def render(content: Content) -> bytes:
    """The PDF of an invoice's or receipt's content."""
    doc = pdf.Document(f"{content.title} {content.number}", content.seller[0])
    pen = _Pen(doc, content)
    _header(pen)
    _lines(pen)
    _totals(pen)
    if content.quotes:
        pen.heading("Amount in local currency", 14)
        for quote in content.quotes:
            pen.paragraph(quote, size=10, font=BOLD)
    if content.reference or content.methods:
        _how_to_pay(pen)
    if content.received:
        _received(pen)
    pen.y += 14
    pen.paragraph((f"After paying, confirm the payment with its bank transaction ID (TID) on {content.page_url}."
                   if content.reference else f"This {content.title.lower()} and its payment status "
                   f"are on {content.page_url}.") + f" Questions: {content.contact}.",
                  size=8.5, color=GREY)

    def footer(document: pdf.Document, number: int, count: int) -> None:
        top = document.height - 40
        document.rule(LEFT, top - 8, document.width - LEFT, top - 8, color=RULE)
        document.text(LEFT, top, f"{content.seller[0]} · {content.title} {content.number}",
                      size=7.5, color=GREY)
        document.text(document.width - LEFT, top, f"Page {number} of {count}", size=7.5,
                      color=GREY, align="right")

    return doc.write(footer)


def _header(pen: _Pen) -> None:
    doc, content = pen.doc, pen.content
    doc.text(pen.right, TOP - 2, content.title.upper(), font=BOLD, size=24, align="right")
    doc.text(LEFT, TOP, content.seller[0], font=BOLD, size=13)
    y = TOP + 19
    for line in content.seller[1:]:
        doc.text(LEFT, y, line, size=9, color=GREY)
        y += 12
    facts_y = TOP + 36
    for label, value in (*content.facts, ("Status", content.status)):
        doc.text(pen.right - 185, facts_y, label, size=9, color=GREY)
        doc.text(pen.right, facts_y, value, font=BOLD if label != "Status" else REGULAR, size=9,
                 align="right")
        facts_y += 13
    pen.y = max(y, facts_y) + 18
    doc.text(LEFT, pen.y, "BILL TO", font=BOLD, size=8, color=GREY)
    y = pen.y + 14
    for index, line in enumerate(content.buyer):
        doc.text(LEFT, y, line, font=BOLD if index == 0 else REGULAR, size=10 if index == 0 else 9)
        y += 13 if index == 0 else 12
    if content.stamp:
        doc.stamp(pen.right - 95, pen.y + 40, content.stamp,
                  color=PAID if content.stamp[0] == "PAID" else VOID)
    pen.y = max(y, pen.y + 90 if content.stamp else y) + 16


def _lines(pen: _Pen) -> None:
    doc, content = pen.doc, pen.content
    pen.need(60)
    doc.box(LEFT, pen.y, pen.right - LEFT, 20, fill=SHADE)
    doc.text(LEFT + 8, pen.y + 6, "Description", font=BOLD, size=9)
    doc.text(pen.right - 8, pen.y + 6, f"Amount ({content.currency})", font=BOLD, size=9,
             align="right")
    pen.y += 28
    for line in content.lines:
        wrapped = pdf.wrap(line.description, pen.right - LEFT - 150, BOLD, 10)
        pen.need(14 * len(wrapped) + 12 * len(line.details) + 10)
        doc.text(pen.right - 8, pen.y, line.amount, size=10, align="right")
        for text in wrapped:
            doc.text(LEFT + 8, pen.y, text, font=BOLD, size=10)
            pen.y += 14
        for detail in line.details:
            pen.paragraph(detail, x=LEFT + 8, color=GREY)
        pen.y += 6
        doc.rule(LEFT, pen.y, pen.right, pen.y, color=RULE)
        pen.y += 10


def _totals(pen: _Pen) -> None:
    doc = pen.doc
    pen.need(18 * len(pen.content.totals) + 8)
    for label, amount, bold in pen.content.totals:
        font, size = (BOLD, 11) if bold else (REGULAR, 10)
        doc.text(pen.right - 230, pen.y, label, font=font, size=size)
        doc.text(pen.right - 8, pen.y, amount, font=font, size=size, align="right")
        pen.y += 18


def _how_to_pay(pen: _Pen) -> None:
    doc, content = pen.doc, pen.content
    pen.heading("How to pay")
    if content.reference:
        pen.need(46)
        doc.box(LEFT, pen.y, pen.right - LEFT, 38, fill=SHADE)
        doc.text(LEFT + 10, pen.y + 8, "Payment reference", size=9, color=GREY)
        doc.text(LEFT + 110, pen.y + 6, content.reference, font=BOLD, size=13)
        doc.text(LEFT + 10, pen.y + 24, "Write it in your transfer's description"
                 + (f"; pay by {content.due}." if content.due else "."), size=9)
        pen.y += 50
    gap = 20.0
    column = (pen.right - LEFT - gap) / 2
    methods = list(content.methods)
    for pair in (methods[i:i + 2] for i in range(0, len(methods), 2)):
        height = max(_method(doc, method, 0, 0, column, draw=False) for method in pair)
        pen.need(height)
        for index, method in enumerate(pair):
            _method(doc, method, LEFT + index * (column + gap), pen.y, column)
        pen.y += height + 10


def _method(doc: pdf.Document, method: Method, x: float, top: float, width: float, *,
            draw: bool = True) -> float:
    """Draw one way to pay in a column (or only measure it); its height."""
    y = top

    def line(text: str, at: float, size: float, font: str = REGULAR,
             color: pdf.Color = pdf.BLACK) -> None:
        if draw:
            doc.text(at, y, text, font=font, size=size, color=color)

    for text in pdf.wrap(method.name, width, BOLD, 10):
        line(text, x, 10, BOLD)
        y += 13
    for text in pdf.wrap(method.instructions, width, REGULAR, 8.5):
        line(text, x, 8.5, color=GREY)
        y += 11
    y += 2
    for label, value in method.details:
        line(label, x, 8.5, color=GREY)
        for text in pdf.wrap(value, width - 85, REGULAR, 8.5):
            line(text, x + 85, 8.5)
            y += 11
    if method.send:
        y += 2
        for text in pdf.wrap(method.send, width, BOLD, 8.5):
            line(text, x, 8.5, BOLD)
            y += 11
    return y - top


def _received(pen: _Pen) -> None:
    doc = pen.doc
    pen.heading("Payments received")
    columns = (LEFT, LEFT + 80, LEFT + 290)
    for label, x in zip(("Date", "Method", "Bank transaction ID"), columns):
        doc.text(x, pen.y, label, size=8, color=GREY)
    doc.text(pen.right, pen.y, "Amount", size=8, color=GREY, align="right")
    pen.y += 14
    for payment in pen.content.received:
        pen.need(14)
        method = pdf.wrap(payment.method, 200, REGULAR, 9)[0]
        reference = pdf.wrap(payment.reference, pen.right - columns[2] - 110, REGULAR, 9)[0]
        for text, x in zip((payment.date, method, reference), columns):
            doc.text(x, pen.y, text, size=9)
        doc.text(pen.right, pen.y, payment.amount, size=9, align="right")
        pen.y += 14
