"""onnxhub.heatmap: the docs' pictures, plain SVG with text labels (no emoji font, no plotting library)."""

import xml.etree.ElementTree as ET

from onnxhub.conformance.scoreboard import _cell, heatmap
from onnxhub.heatmap import NONE, colour, svg


def test_colours_run_from_red_through_yellow_to_green():
    assert (colour(0.0), colour(0.5), colour(1.0), colour(None)) == ("#d73027", "#fee08b", "#1a9850", NONE)


def test_one_square_per_cell_with_its_tooltip_and_valid_svg():
    doc = svg(["a", "b"], ["x", "y", "z"], lambda r, c: (0.5, "", f"{r}{c}"), title="t & t")
    root = ET.fromstring(doc)  # well-formed, the title escaped
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 6 and [r[0].text for r in rects] == ["ax", "ay", "az", "bx", "by", "bz"]


def test_scoreboard_heatmap_and_table_signs_need_no_emoji_font():
    report = {"backend": "b", "pass_rate": 0.5, "cases": [
        {"name": "test_abs_cpu", "kind": "node", "op": "Abs", "outcome": "passed"},
        {"name": "test_add_cpu", "kind": "node", "op": "Add", "outcome": "failed"}]}
    doc = heatmap([report])
    assert "Abs on b: 1/1 passed" in doc and "Add on b: 0/1 passed" in doc
    assert [_cell({"passed": p, "total": 2}) for p in (2, 1, 0)] == ["✓ 2/2", "~ 1/2", "✗ 0/2"]
    assert all(ord(ch) < 0x2800 for ch in "".join(_cell({"passed": p, "total": 2}) for p in (2, 1, 0)))
