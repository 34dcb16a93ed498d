"""The PDFs a debtor receives (settlement certificate, statement, receipt) share one look and one font.

The PDF core fonts (Helvetica…) only speak Latin-1: "¿", "¡" and "ñ" are in it, but "€", "—", curly quotes
and any name from outside Latin-1 are not, and fpdf2 refuses or mangles them. Every document embeds DejaVu
Sans instead (vendored in ``bot/billing/fonts`` with its licence: a free licence, and present in every image
without a system package), subset by fpdf2 to the glyphs used, with a ToUnicode map so the text can be
searched and copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"


def new_document(title: str, author: str) -> Any:
    """An A4 ``fpdf.FPDF`` with the Unicode font registered (regular and bold) and a first page."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    return pdf


def heading(pdf: Any, text: str, size: int = 18) -> None:
    pdf.set_font(FAMILY, "B", size)
    pdf.cell(0, 12, text, new_x="LMARGIN", new_y="NEXT", align="C")


def section(pdf: Any, text: str) -> None:
    pdf.set_font(FAMILY, "B", 12)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")


def paragraph(pdf: Any, text: str, size: int = 10, height: float = 6, bold: bool = False) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")


def centred(pdf: Any, text: str, size: int = 11) -> None:
    pdf.set_font(FAMILY, "", size)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT", align="C")


def output(pdf: Any) -> bytes:
    return bytes(pdf.output())
