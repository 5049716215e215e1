"""Writers: quote sheets as Markdown, CSV, JSON, HTML, DOCX and XLSX.

Each writer takes the same grouped rows and returns bytes or text; the CLI decides where
they go. Heavy libraries (python-docx, openpyxl) are imported only by their writer.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Sequence

from coder.errors import InputError
from coder.reports import Quote

FORMATS = ("json", "csv", "md", "docx", "xlsx", "html")
BINARY_FORMATS = ("docx", "xlsx")
NO_CASE = "(no case)"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Sheet:
    title: str
    quotes: Sequence[Quote]
    pseudonymised: bool = False


def attribution(quote: Quote) -> str:
    """The field's convention: (role, office)."""
    parts = [p for p in (quote.role, quote.case) if p]
    return f"({', '.join(parts)})" if parts else f"({quote.transcript})"


def reference(quote: Quote) -> str:
    return f"{quote.transcript} §{quote.segment}" if quote.segment else quote.transcript


def grouped(quotes: Sequence[Quote]):
    """[(case, [(code, code_label, dimension_label, [quotes])])] in report order."""
    for case, by_case in groupby(quotes, key=lambda q: q.case or NO_CASE):
        codes = []
        for (code, label, dim_label), by_code in groupby(by_case, key=lambda q: (q.code, q.code_label,
                                                                                  q.dimension_label)):
            codes.append((code, label, dim_label, list(by_code)))
        yield case, codes


def safe_cell(value):
    """Spreadsheet cells starting with = + - @ would run as formulas: prefix a quote mark."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


COLUMNS = ("case", "transcript", "informant", "role", "dimension", "code", "code_label", "segment", "start", "end",
           "text", "attribution", "coder", "memo")


def _record(quote: Quote) -> dict:
    return {"case": quote.case, "transcript": quote.transcript, "informant": quote.informant, "role": quote.role,
            "dimension": quote.dimension, "code": quote.code, "code_label": quote.code_label,
            "segment": quote.segment, "start": quote.start, "end": quote.end, "text": quote.text,
            "attribution": attribution(quote), "coder": quote.coder, "memo": quote.memo}


def to_json(sheet: Sheet) -> str:
    return json.dumps([q.as_json() for q in sheet.quotes], ensure_ascii=False, indent=2) + "\n"


def to_csv(sheet: Sheet) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for quote in sheet.quotes:
        record = _record(quote)
        writer.writerow([safe_cell(record[c]) if record[c] is not None else "" for c in COLUMNS])
    return buffer.getvalue()


def to_markdown(sheet: Sheet) -> str:
    lines = [f"# {sheet.title}", ""]
    if not sheet.quotes:
        lines.append("_No coded quotes match._")
    for case, codes in grouped(sheet.quotes):
        lines += [f"## {case}", ""]
        for code, label, dim_label, quotes in codes:
            lines += [f"### {label} ({code})", "", f"_{dim_label}_ · {len(quotes)} quote(s)", ""]
            for quote in quotes:
                text = " ".join(quote.text.split())
                lines.append(f"> «{_md_escape(text)}» {attribution(quote)}  ")
                meta = f"{reference(quote)}, coded by {quote.coder}"
                lines.append(f"> <sub>{_md_escape(meta)}</sub>")
                if quote.memo:
                    lines.append(f">\n> Memo: {_md_escape(quote.memo)}")
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_<>\[\]|#])", r"\\\1", text)


HTML_STYLE = """
body{font-family:Georgia,'Times New Roman',serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:2px solid #444;margin-top:2em}h3{font-size:1.05em;margin-bottom:.2em}
.dim{color:#666;font-size:.85em;margin:0 0 .6em}
blockquote{margin:.6em 0 1em;padding:.4em .9em;border-left:4px solid #999;background:#f7f7f7}
.attr{font-style:italic}.meta{display:block;color:#666;font-size:.8em;margin-top:.3em}
.memo{display:block;font-size:.85em;margin-top:.3em}
@media print{body{margin:0;max-width:none}blockquote{break-inside:avoid}h2{break-before:page}h2:first-of-type{break-before:auto}}
"""


def to_html(sheet: Sheet) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="nb"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(sheet.title)}</title><style>{HTML_STYLE}</style></head><body>", f"<h1>{e(sheet.title)}</h1>"]
    if not sheet.quotes:
        out.append("<p><em>No coded quotes match.</em></p>")
    for case, codes in grouped(sheet.quotes):
        out.append(f"<h2>{e(case)}</h2>")
        for code, label, dim_label, quotes in codes:
            out.append(f"<h3>{e(label)} <small>({e(code)})</small></h3>")
            out.append(f'<p class="dim">{e(dim_label)} · {len(quotes)} quote(s)</p>')
            for quote in quotes:
                out.append(f"<blockquote>«{e(quote.text)}» <span class=\"attr\">{e(attribution(quote))}</span>"
                           f"<span class=\"meta\">{e(reference(quote))}, coded by {e(quote.coder)}</span>")
                if quote.memo:
                    out.append(f'<span class="memo">Memo: {e(quote.memo)}</span>')
                out.append("</blockquote>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def to_docx(sheet: Sheet) -> bytes:
    from docx import Document
    from docx.shared import Pt, RGBColor

    document = Document()
    document.core_properties.title = sheet.title
    document.add_heading(sheet.title, level=0)
    if not sheet.quotes:
        document.add_paragraph("No coded quotes match.")
    for case, codes in grouped(sheet.quotes):
        document.add_heading(case, level=1)
        for code, label, dim_label, quotes in codes:
            document.add_heading(f"{label} ({code})", level=2)
            info = document.add_paragraph(f"{dim_label} · {len(quotes)} quote(s)")
            info.runs[0].font.size = Pt(9)
            for quote in quotes:
                paragraph = document.add_paragraph(style="Quote")
                paragraph.add_run(f"«{_xml_safe(quote.text)}» ")
                paragraph.add_run(attribution(quote)).italic = False
                meta = document.add_paragraph()
                run = meta.add_run(f"{reference(quote)}, coded by {_xml_safe(quote.coder)}"
                                   + (f" — memo: {_xml_safe(quote.memo)}" if quote.memo else ""))
                run.font.size = Pt(8)
                run.font.color.rgb = RGBColor(0x66, 0x66, 0x66)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _xml_safe(text: str | None) -> str:
    # XML 1.0 forbids most control characters; python-docx would raise on them.
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text or "")


def to_xlsx(sheet: Sheet) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    ws = workbook.active
    ws.title = "Quotes"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for quote in sheet.quotes:
        record = _record(quote)
        ws.append([safe_cell(_xml_safe(v)) if isinstance(v, str) else v for v in (record[c] for c in COLUMNS)])
    widths = {"text": 80, "memo": 40, "attribution": 28, "code": 34, "code_label": 30}
    for index, column in enumerate(COLUMNS, start=1):
        letter = ws.cell(row=1, column=index).column_letter
        ws.column_dimensions[letter].width = widths.get(column, 14)
    text_col = COLUMNS.index("text") + 1
    for row in ws.iter_rows(min_row=2, min_col=text_col, max_col=text_col):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


WRITERS = {"json": to_json, "csv": to_csv, "md": to_markdown, "html": to_html, "docx": to_docx, "xlsx": to_xlsx}


def render(sheet: Sheet, fmt: str) -> str | bytes:
    return WRITERS[fmt](sheet)


def safe_filename(*parts: str | None) -> str:
    words = [p for p in parts if p]
    name = "_".join(words)
    name = name.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    name = re.sub(r"[^a-z0-9._-]+", "-", name).strip("-.")
    return name[:120] or "export"


def write_file(path: Path, content: str | bytes, *, force: bool) -> Path:
    if path.exists() and not force:
        raise InputError("file exists", path=str(path), hint="pass --force to overwrite, or choose --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a file
    return path
