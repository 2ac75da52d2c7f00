"""The hook reference (docs/hooks.md, expanded by docs/hooks.py) names every hook and every
spec field, with their meaning; built here without mkdocs."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
from pathlib import Path

import pytest

import onnxhub.hookspecs as hookspecs
import onnxhub.specs as specs

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("onnxhub_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports neither mkdocs nor a plugin at module level
    return module


@pytest.fixture(scope="module")
def page(generator):
    return generator.expand_hooks_page((DOCS / "hooks.md").read_text(encoding="utf-8"))


HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if name.startswith("register_") and fn.__module__ == hookspecs.__name__]
SPECS = [cls for _, cls in inspect.getmembers(specs, inspect.isclass)
         if dataclasses.is_dataclass(cls) and cls.__module__ == specs.__name__]


def test_the_hooks_and_specs_are_what_the_reference_expects(generator):
    assert len(HOOKS) == 4 and sorted(generator.hook_names()) == sorted(HOOKS)
    assert sorted(generator.SPECS) == sorted(cls.__name__ for cls in SPECS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_its_own_section(page, hook):
    assert f"\n## {hook}\n" in page  # a heading: one sidebar entry per hook
    assert f"::: onnxhub.hookspecs.{hook}\n" in page  # its contract, rendered from the docstring


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_fields_come_last(hook):
    """Sphinx fields end the docstring: one before the prose would swallow it into its table."""
    doc = inspect.getdoc(getattr(hookspecs, hook))
    paragraphs = doc.split("\n\n")
    assert all(not p.lstrip().startswith(":") for p in paragraphs[:-1]), hook
    assert paragraphs[-1].startswith(":param register:")
    assert "::\n" not in doc and "::\n" not in inspect.getdoc(hookspecs)  # no reST literal blocks


@pytest.mark.parametrize("cls", SPECS, ids=lambda c: c.__name__)
def test_every_spec_field_is_in_its_table(page, cls):
    section = page.split(f"\n## {cls.__name__}\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| `")}
    for f in dataclasses.fields(cls):
        row = rows[f"`{f.name}`"]
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == 4, row
        assert cells[2] == ("required" if f.default is dataclasses.MISSING
                            and f.default_factory is dataclasses.MISSING else cells[2])
        assert cells[3], f"{cls.__name__}.{f.name} has no meaning in the reference"
    assert set(rows) == {f"`{f.name}`" for f in dataclasses.fields(cls)}
