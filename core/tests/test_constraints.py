"""The pins CI installs with (constraints.txt) carry out the decisions in constraints.in."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not an exact pin"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_decision_is_in_the_lock():
    decided, locked = _pins(ROOT / "constraints.in"), _pins(ROOT / "constraints.txt")
    assert decided and all(locked.get(name) == version for name, version in decided.items()), \
        "constraints.txt does not match constraints.in: run `python3 -m nox -s lock`"


def test_ci_installs_nox_with_the_lock():
    command = "python3 -m pip install -q -c constraints.txt nox && python3 -m nox"
    assert command in (ROOT / "README.md").read_text() and command in (ROOT / ".ci" / "run").read_text()
    assert "nox" in _pins(ROOT / "constraints.txt")


def test_one_distribution_session_stays_out_of_the_ci_set():
    noxfile = (ROOT / "noxfile.py").read_text()
    ci_set = re.search(r"^nox\.options\.sessions = \[(.*)\]$", noxfile, re.M).group(1)
    assert "dist" not in ci_set
    assert re.search(r"@nox\.session\([^)]*default=False\)[^\n]*\ndef dist\(session\):", noxfile)
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m nox -s dist -- onnx_mxnet" in readme and "python3 -m nox -l" in readme
    assert "20–30 minutes" in readme  # what the CI command costs, said beside it
