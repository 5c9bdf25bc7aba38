"""A report as a list of blocks, rendered as Markdown and as one HTML page.

A block is a tuple: `("h1" | "h2" | "h3" | "p", text)`, `("ul", items)`,
`("table", header, rows)` (lists of strings) or `("img", file, alt)` (a PNG
file in the report folder). Text may use Markdown's `code` and **bold**,
the only inline marks rendered in HTML.

Example:

>>> blocks = [("h1", "Report"), ("p", "**2** rows"), ("table", ["a"], [["1"]])]
>>> print(render_markdown(blocks))
# Report
<BLANKLINE>
**2** rows
<BLANKLINE>
| a |
|---|
| 1 |
<BLANKLINE>
"""

import base64
import html
from pathlib import Path

HEADINGS = ("h1", "h2", "h3")
STYLE = (
    "body{font-family:sans-serif;max-width:1500px;margin:2em auto;"
    "padding:0 1em;line-height:1.4}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "td:first-child,td:nth-child(2),th{text-align:left}"
    "img{max-width:100%;border:1px solid #eee}code{background:#f4f4f4}"
)


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render_markdown(blocks):
    """Markdown of `blocks` (images linked by file name).

    Example:

    >>> print(render_markdown([("h2", "Results"), ("table", ["a", "b"], [["1", "2"]])]))
    ## Results
    <BLANKLINE>
    | a | b |
    |---|---|
    | 1 | 2 |
    <BLANKLINE>
    """
    lines = []
    for kind, *parts in blocks:
        if kind in HEADINGS:
            lines.append("#" * int(kind[1]) + " " + parts[0])
        elif kind == "p":
            lines.append(parts[0])
        elif kind == "ul":
            lines += [f"- {item}" for item in parts[0]]
        elif kind == "table":
            lines += _markdown_table(*parts)
        elif kind == "img":
            lines.append(f"![{parts[1]}]({parts[0]})")
        else:
            continue
        lines.append("")
    return "\n".join(lines)


def _inline(text):
    """Markdown's `code` and **bold** in HTML (the only inline marks used)."""
    parts = html.escape(text).split("`")
    text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def _html_table(header, rows):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"


def _html_image(folder, file, alt):
    data = base64.b64encode((Path(folder) / file).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _html_block(block, folder):
    kind, *parts = block
    if kind in HEADINGS + ("p",):
        return f"<{kind}>{_inline(parts[0])}</{kind}>"
    if kind == "ul":
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in parts[0]) + "</ul>"
    if kind == "table":
        return _html_table(*parts)
    if kind == "img":
        return _html_image(folder, *parts)
    return None


def render_html(blocks, folder, title="kerasdrop demo report"):
    """One self-contained HTML page: PNGs embedded as base64 data URIs.

    `folder` holds the PNG files the `("img", file, alt)` blocks name.

    Example:

    >>> page = render_html([("p", "**4** variants, `mc.predict`")], ".")
    >>> "<p><b>4</b> variants, <code>mc.predict</code></p>" in page
    True
    """
    body = [_html_block(block, folder) for block in blocks]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        "<body>\n" + "\n".join(b for b in body if b is not None) + "\n</body></html>\n"
    )
