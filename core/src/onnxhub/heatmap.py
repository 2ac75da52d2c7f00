"""Heat maps as plain SVG (no plotting library): the docs' pictures of the conformance scoreboard
(backend x operator) and the conversion matrix (source x target), generated with their reports.

``svg(rows, cols, cell)`` draws one square per (row, column); ``cell(row, col)`` gives
``(fraction passed or None, text inside the square, tooltip)``. Colours run red (0) through
yellow to green (1); grey is "no cases". Labels are text, so the picture needs no emoji font.
"""

from __future__ import annotations

from html import escape

RED, YELLOW, GREEN, NONE = (215, 48, 39), (254, 224, 139), (26, 152, 80), "#e6e6e6"


def colour(fraction: float | None) -> str:
    if fraction is None:
        return NONE
    low, high, t = (RED, YELLOW, fraction * 2) if fraction < 0.5 else (YELLOW, GREEN, fraction * 2 - 1)
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high))


def svg(rows: list[str], cols: list[str], cell, *, width: int = 12, height: int = 18, title: str = "") -> str:
    """The heat map as an SVG document; column labels stand upright above narrow squares."""
    char = 6.5  # px per character of the 11 px label font
    left = int(max((len(r) for r in rows), default=0) * char) + 12
    upright = width < 40  # narrow columns: labels turned to read bottom-up
    top = int(max((len(c) for c in cols), default=0) * char) + 10 if upright else 22
    w, h = left + width * len(cols) + 2, top + height * len(rows) + 2
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'font-family="sans-serif" font-size="11" role="img" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>"]
    for j, col in enumerate(cols):
        x = left + j * width + width / 2
        if upright:
            out.append(f'<text transform="translate({x + 3.5:.1f},{top - 4}) rotate(-90)" font-size="10">'
                       f"{escape(col)}</text>")
        else:
            out.append(f'<text x="{x:.1f}" y="{top - 7}" text-anchor="middle" font-weight="bold">{escape(col)}</text>')
    for i, row in enumerate(rows):
        y = top + i * height
        out.append(f'<text x="{left - 6}" y="{y + height / 2 + 4:.1f}" text-anchor="end">{escape(row)}</text>')
        for j, col in enumerate(cols):
            fraction, text, tip = cell(row, col)
            x = left + j * width
            out.append(f'<rect x="{x}" y="{y}" width="{width - 1}" height="{height - 1}" fill="{colour(fraction)}">'
                       f"<title>{escape(tip)}</title></rect>")
            if text:
                out.append(f'<text x="{x + width / 2:.1f}" y="{y + height / 2 + 4:.1f}" text-anchor="middle">'
                           f"{escape(text)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
