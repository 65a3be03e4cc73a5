"""Names and texts come from data, and data can be hostile: how they are made safe where they are shown.

- Control characters (terminal escape codes, bidirectional overrides that reorder what is displayed) never
  reach a screen: `visible` writes each as its Python escape (`\\x1b`), in the loader and in what the command
  line prints.
- A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula:
  `csv_safe` prefixes such text cells with a single quote, as OWASP's CSV-injection guidance advises, so the
  cell shows the text (with the quote) and pandas reads the prefix back as part of the text.
- In a figure, `$` would start matplotlib's TeX: `plot_text` makes it literal.
- In markdown, a name could open a link, an image, raw HTML, inline code or a table cell: `markdown` escapes
  the characters that do (CommonMark backslash escapes; `<` and `>` as entities), and breaks the `://` and
  `www.` that GitHub-flavoured markdown would turn into a link on its own.
"""
from __future__ import annotations

import re

import pandas as pd

# C0 and C1 controls, and the invisible format characters that reorder or hide text (bidirectional marks and
# overrides, zero-width spaces and joiners, line and paragraph separators, the byte-order mark)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN = re.compile(r"([\\`*_\[\]|$~@])")       # links, images, code, emphasis, cells, math, strikes, e-mail
WEB = re.compile(r"(?i)(://|\bwww\.)")                 # what GitHub's markdown links by itself


def visible(text: str, keep: str = "") -> str:
    """Control characters as their escapes (`\\x1b`, `\\u202e`), except those in `keep` (e.g. a newline)."""
    return CONTROL.sub(lambda m: m.group() if m.group() in keep else m.group().encode("unicode_escape").decode(),
                       text)


def terminal(text: str) -> str:
    """What the command line prints: its own line breaks stay, every other control character shows escaped."""
    return visible(text, keep="\n")


def plot_text(text: str) -> str:
    """A name as a figure's label: control characters escaped, `$` literal (matplotlib reads `$...$` as TeX,
    and a name such as `$\\foo$` would fail to draw)."""
    return visible(str(text)).replace("$", r"\$")


def markdown(text: str) -> str:
    """A name or text as literal markdown inline text: no link, image, HTML, code span, emphasis or cell break."""
    flat = " ".join(visible(str(text), keep="\n\t").split())
    escaped = WEB.sub(lambda m: "\\" + m.group() if m.group() == "://" else m.group()[:-1] + "\\.",
                      MARKDOWN.sub(r"\\\1", flat))
    return escaped.replace("<", "&lt;").replace(">", "&gt;")


def csv_cell(value: object) -> object:
    if not isinstance(value, str):
        return value
    value = visible(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_safe(table: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell that a spreadsheet would run as a formula neutralised, and control
    characters escaped (a CSV is also read with `cat` and `head`); numbers are left alone."""
    out = table.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map(csv_cell)
    return out
