"""Widths of the two fonts invoices are set in, Helvetica and Helvetica-Bold: PDF's standard
Type 1 fonts, which every reader has, so nothing is embedded. Text is written in WinAnsiEncoding
(Windows-1252); each table gives the advance width, in 1/1000 of the font size, of the codes 32 to
255 in order (a code that encoding leaves undefined has the default width: it is never written).

The widths are those of Adobe's Core 14 AFM files, reduced to these codes (a test holds them to
the AFM metrics pypdf ships). Their notice:

    Copyright (c) 1985, 1987, 1989, 1990, 1997 Adobe Systems Incorporated. All Rights Reserved.
    Helvetica is a trademark of Linotype-Hell AG and/or its subsidiaries.

    This file and the 14 PostScript(R) AFM files it accompanies may be used, copied, and
    distributed for any purpose and without charge, with or without modification, provided that
    all copyright notices are retained; that the AFM files are not distributed without this file;
    that all modifications to this file or any of the AFM files are prominently noted in the
    modified file(s); and that this paragraph is not modified. Adobe Systems has no responsibility
    or obligation to support the use of the AFM files.
"""
from __future__ import annotations

FIRST_CODE = 32
ASCENT, DESCENT = 718, -207  # both fonts, in 1/1000 of the size


def _widths(table: str) -> tuple[int, ...]:
    widths = tuple(int(width) for width in table.split())
    assert len(widths) == 256 - FIRST_CODE
    return widths


# Codes 32 to 255, sixteen a line.
HELVETICA = _widths("""
278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278
556 556 556 556 556 556 556 556 556 556 278 278 584 584 584 556
1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778
667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556
333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556
556 556 333 500 278 556 500 722 500 500 500 334 260 334 584 556
556 556 222 556 333 1000 556 556 333 1000 667 333 1000 556 611 556
556 222 222 333 333 350 556 1000 333 1000 500 333 944 556 500 667
278 333 556 556 556 556 260 556 333 737 370 556 584 333 737 333
400 584 333 333 333 556 537 278 333 333 365 556 834 834 834 611
667 667 667 667 667 667 1000 722 667 667 667 667 278 278 278 278
722 722 778 778 778 778 778 584 778 722 722 722 722 667 667 611
556 556 556 556 556 556 889 500 556 556 556 556 278 278 278 278
556 556 556 556 556 556 556 584 611 556 556 556 556 500 556 500
""")
HELVETICA_BOLD = _widths("""
278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278
556 556 556 556 556 556 556 556 556 556 333 333 584 584 584 611
975 722 722 722 722 667 611 778 722 278 556 722 611 833 722 778
667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556
333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611
611 611 389 556 333 611 556 778 556 556 500 389 280 389 584 556
556 556 278 556 500 1000 556 556 333 1000 667 333 1000 556 611 556
556 278 278 500 500 350 556 1000 333 1000 556 333 944 556 500 667
278 333 556 556 556 556 280 556 333 737 370 556 584 333 737 333
400 584 333 333 333 611 556 278 333 333 365 556 834 834 834 611
722 722 722 722 722 722 1000 722 667 667 667 667 278 278 278 278
722 722 778 778 778 778 778 584 778 722 722 722 722 667 667 611
556 556 556 556 556 556 889 556 556 556 556 556 278 278 278 278
611 611 611 611 611 611 611 584 611 611 611 611 611 556 611 556
""")

WIDTHS = {"Helvetica": HELVETICA, "Helvetica-Bold": HELVETICA_BOLD}
