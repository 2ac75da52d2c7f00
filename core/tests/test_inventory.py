"""Finding an inventory's models: grouping files by the exporter's patterns, unique folder-safe names."""

import pytest

from onnxhub import inventory


@pytest.mark.parametrize("name, patterns, want", [
    ("resnet-symbol.json", ("*-symbol.json", "*.params"), "resnet"),
    ("resnet-0000.params", ("*-symbol.json", "*.params"), "resnet-0000"),
    ("init_net.pb", ("*predict_net.pb", "*init_net.pb"), ""),
    ("squeeze_predict_net.pb", ("*predict_net.pb", "*init_net.pb"), "squeeze_"),
    ("net.model", ("*.model",), "net"),
    ("readme.txt", ("*.model",), None),
])
def test_capture_is_what_the_star_matched(name, patterns, want):
    assert inventory._capture(name, patterns) == want


def test_default_groups_pair_files_of_one_folder_by_what_the_star_matched():
    pats = ("*predict_net.pb", "*init_net.pb")
    files = ["m/a/init_net.pb", "m/a/predict_net.pb", "m/b/init_net.pb", "m/b/predict_net.pb",
             "m/c/x_init_net.pb", "m/c/x_predict_net.pb", "m/c/y_init_net.pb"]
    groups = sorted(sorted(g) for g in inventory.default_groups(files, pats))
    assert groups == [["m/a/init_net.pb", "m/a/predict_net.pb"], ["m/b/init_net.pb", "m/b/predict_net.pb"],
                      ["m/c/x_init_net.pb", "m/c/x_predict_net.pb"], ["m/c/y_init_net.pb"]]
    assert inventory._model_name(["m/a/init_net.pb", "m/a/predict_net.pb"]) == "a"  # no common stem: the folder
    assert inventory._model_name(["m/c/x_init_net.pb", "m/c/x_predict_net.pb"]) == "x"
    assert inventory._model_name(["m/n.model"], ("*.model",)) == "n"


def test_is_inventory_for_folders_and_globs_only(tmp_path):
    (tmp_path / "a.model").write_text("x")
    assert inventory.is_inventory([tmp_path])
    assert inventory.is_inventory([str(tmp_path / "*.model")])
    assert not inventory.is_inventory([tmp_path / "a.model"])
    assert not inventory.is_inventory([tmp_path / "missing.model"])  # an error later, not a glob


def test_markdown_report_escapes_and_marks_resumed_models():
    rep = {"source": "a", "target": "b", "total": 2, "ok": 1, "mismatch": 0, "failed": 1, "resumed": 1,
           "executor": "local", "jobs": 2, "seconds": 1.5, "verify": True, "rtol": 1e-3, "atol": 1e-4, "seed": 0,
           "models": [{"name": "x", "status": "ok", "resumed": True, "seconds": 0.5, "error": None,
                       "files": ["/zoo/x-symbol.json", "/zoo/x|0000.params"],
                       "differences": [{"max_abs": 1e-7, "max_rel": 2e-6}, {"max_abs": 3e-7, "max_rel": None}]},
                      {"name": "y", "status": "failed", "resumed": False, "seconds": 0.1, "error": "bad | pipe",
                       "differences": None}]}
    md = inventory.markdown(rep)
    assert "| x | `/zoo/x-symbol.json`<br>`/zoo/x\\|0000.params` | ok (earlier run) | 3e-07 | 2e-06 | 0.5 |  |" in md
    assert "| y |  | failed | - | - | 0.1 | bad \\| pipe |" in md
