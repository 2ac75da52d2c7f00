"""Tables and JSON for the command line.

Rich draws tables on a terminal; when stdout is a pipe or file the same rows are
printed as plain aligned text, which keeps listing fast (rich is not imported) and
easy to grep.
"""

from __future__ import annotations

import json
import sys


def is_terminal(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "-"
    return str(value)


def print_table(rows: list[dict], columns: list[tuple[str, str]], title: str | None = None) -> None:
    """``columns`` are ``(key, header)`` pairs."""
    cells = [[_cell(r.get(key)) for key, _ in columns] for r in rows]
    if is_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for _, header in columns:
            table.add_column(header)
        for row in cells:
            table.add_row(*row)
        Console().print(table)
        return
    headers = [h for _, h in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    sys.stdout.write("\n".join(lines) + "\n")


# Where notes go: stderr at once, or (while the CLI runs a command) this list, printed only when
# the command succeeds, so that a failing command's stderr is its one error line.
deferred_notes: list[str] | None = None


def note(text: str) -> None:
    """A note for the user on stderr (``note: ...``), held back until the command has succeeded."""
    if deferred_notes is not None:
        deferred_notes.append(text)
    else:
        sys.stderr.write(text + "\n")


def error(message: str) -> None:
    sys.stderr.write(f"onnxhub: error: {message}\n")
