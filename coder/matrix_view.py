"""Showing a matrix coding query: a terminal table, JSON/CSV/Markdown, or an HTML page whose
cells hold the quotes (framework-matrix style)."""
from __future__ import annotations

import html as _html
from dataclasses import replace

from coder.export import attribution
from coder.reports import Matrix
from coder.render import dumps_csv, dumps_json, dumps_markdown

MAX_QUOTES_IN_CELL = 5


def records(m: Matrix, *, with_quotes: bool) -> list[dict]:
    out = []
    for row_key, row_label in m.rows:
        for col_key, col_label in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key), [])
            if not count and not quotes:
                continue
            record = {"row": row_key, "col": col_key, "count": count}
            if with_quotes:
                record["quotes"] = [{"text": q.text, "attribution": attribution(q), "transcript": q.transcript,
                                     "segment": q.segment, "code": q.code, "coder": q.coder} for q in quotes]
            out.append(record)
    return out


def _cell_summary(quotes, *, limit: int = MAX_QUOTES_IN_CELL, width: int = 140) -> str:
    parts = []
    for q in quotes[:limit]:
        text = " ".join(q.text.split())
        text = text if len(text) <= width else text[:width - 1] + "…"
        parts.append(f"«{text}» {attribution(q)}, coded by {q.coder}")
    if len(quotes) > limit:
        parts.append(f"(+{len(quotes) - limit} more)")
    return "\n".join(parts)


def wide(m: Matrix) -> tuple[list[str], list[dict]]:
    columns = ["row", *[label for _, label in m.cols]]
    rows = []
    for row_key, row_label in m.rows:
        record = {"row": row_label}
        for col_key, col_label in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key))
            record[col_label] = f"{count}: {_cell_summary(quotes)}" if quotes else count
        rows.append(record)
    return columns, rows


def render(m: Matrix, fmt: str, *, title: str) -> str:
    with_quotes = bool(m.quotes)
    if fmt == "json":
        return dumps_json(records(m, with_quotes=with_quotes))
    columns, rows = wide(m)
    if fmt == "csv":
        return dumps_csv(rows, columns)
    if fmt == "md":
        return dumps_markdown(rows, columns)
    return _html_page(m, title)


def _html_page(m: Matrix, title: str) -> str:
    e = _html.escape
    head = "".join(f"<th>{e(label)}</th>" for _, label in m.cols)
    body = []
    for row_key, row_label in m.rows:
        cells = []
        for col_key, _ in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key), [])
            items = "".join(f"<li>«{e(q.text)}» <em>{e(attribution(q))}</em>, coded by {e(q.coder)}</li>"
                            for q in quotes)
            cells.append(f"<td><b>{count or ''}</b>{f'<ul>{items}</ul>' if items else ''}</td>")
        body.append(f"<tr><th>{e(row_label)}</th>{''.join(cells)}</tr>")
    style = ("body{font-family:Georgia,serif;margin:1.5em}table{border-collapse:collapse}"
             "th,td{border:1px solid #bbb;padding:.4em;vertical-align:top;font-size:.85em;max-width:22em}"
             "thead th{background:#eee;position:sticky;top:0}ul{padding-left:1.1em;margin:.3em 0}")
    return (f'<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{style}</style></head><body><h1>{e(title)}</h1><table><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></body></html>\n")


def print_table(env, m: Matrix, *, rows: str, cols: str, unit: str) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from coder.render import printable

    table = Table(title=f"{rows} × {cols}: coded {unit}", box=box.SIMPLE_HEAVY, title_justify="left",
                  show_lines=bool(m.quotes))
    table.add_column(Text(printable(rows)))
    for _, label in m.cols:
        table.add_column(Text(printable(label)), justify="left" if m.quotes else "right", overflow="fold")
    for row_key, row_label in m.rows:
        cells = []
        for col_key, _ in m.cols:
            count = m.counts.get((row_key, col_key), 0)
            quotes = m.quotes.get((row_key, col_key))
            cells.append(f"{count}\n{_cell_summary(quotes, limit=2, width=80)}" if quotes else (str(count) if count
                                                                                                else "·"))
        table.add_row(Text(printable(row_label)), *cells)
    env.print_table(table)


def pseudonymise(m: Matrix, pseudonymiser) -> Matrix:
    from coder.pseudonym import apply_to_quotes

    hide = pseudonymiser.value  # a transcript id (--rows transcript) becomes its neutral id
    return replace(m, rows=tuple((hide(k), hide(l)) for k, l in m.rows),
                   cols=tuple((hide(k), hide(l)) for k, l in m.cols),
                   counts={(hide(r), hide(c)): n for (r, c), n in m.counts.items()},
                   quotes={(hide(r), hide(c)): apply_to_quotes(qs, pseudonymiser) for (r, c), qs in m.quotes.items()})
