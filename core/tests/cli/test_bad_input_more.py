"""Bad input found by hostile use (issue 16): exit 2 and one line naming what is wrong, never exit 3 or a false 0."""

import io
import json
import os
import zipfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from test_bad_input import _external_model, _weights_bytes, assert_clean_failure

from onnxhub.testing import run_cli

from conftest import install_fake_plugin, make_model


def _model(path, inputs, outputs, nodes, opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def _relu_model(tmp_path, dims, elem=TensorProto.FLOAT):
    return _model(tmp_path / "m.onnx", [helper.make_tensor_value_info("x", elem, dims)],
                  [helper.make_tensor_value_info("y", elem, dims)], [helper.make_node("Identity", ["x"], ["y"])])


# -- .npz inputs ---------------------------------------------------------------------
def _npz_with_member(path, name, payload: bytes):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name + ".npy", payload)
    return path


def test_npz_with_pickled_member(cli, tmp_path, tiny_model):
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    npz = _npz_with_member(tmp_path / "in.npz", "x", buf.getvalue())
    assert_clean_failure(cli("run", tiny_model, "-i", npz), "in.npz", "'x'")


def test_npz_with_corrupt_member(cli, tmp_path, tiny_model):
    buf = io.BytesIO()
    np.save(buf, np.ones((2, 4), np.float32))
    npz = _npz_with_member(tmp_path / "in.npz", "x", buf.getvalue()[:-7])
    assert_clean_failure(cli("run", tiny_model, "-i", npz), "in.npz", "'x'")


def test_npz_member_declaring_a_huge_array(cli, tmp_path, tiny_model):
    buf = io.BytesIO()
    np.save(buf, np.ones((2, 4), np.float32))
    header = buf.getvalue().replace(b"(2, 4), }" + b" " * 11, b"(1099511627776, 4), }")  # same header length
    npz = _npz_with_member(tmp_path / "in.npz", "x", header)
    assert_clean_failure(cli("run", tiny_model, "-i", npz), "in.npz", "limit")


# -- --random-inputs on hostile dims ---------------------------------------------------
@pytest.mark.parametrize("dims", [[2**40], [2**62, 2], [1] * 100])
def test_random_inputs_hostile_model_dims(cli, tmp_path, dims):
    r = cli("run", _relu_model(tmp_path, dims), "--random-inputs", "--backend", "reference")
    assert_clean_failure(r, "'x'")


@pytest.mark.parametrize("dim", ["N=-1", f"N={10**30}", "N=x"])
def test_random_inputs_bad_dim_values(cli, tiny_model, dim):
    assert_clean_failure(cli("run", tiny_model, "--random-inputs", "--dim", dim, "--backend", "reference"), "--dim")


def test_random_inputs_negative_seed(cli, tiny_model):
    assert_clean_failure(cli("run", tiny_model, "--random-inputs", "--seed", "-1", "--backend", "reference"), "--seed")


@pytest.mark.parametrize("elem", [TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.INT8,
                                  TensorProto.INT64, TensorProto.UINT16, TensorProto.BOOL])
def test_random_inputs_made_in_the_target_dtype(tmp_path, elem):
    from onnxhub.inputs import random_inputs

    model = onnx.load(str(_relu_model(tmp_path, [3, 5], elem)))
    feeds = random_inputs(model, {})
    want = np.dtype(helper.tensor_dtype_to_np_dtype(elem))
    assert feeds["x"].dtype == want and feeds["x"].shape == (3, 5)


def test_random_inputs_peak_memory_is_the_array(tmp_path):
    import tracemalloc

    from onnxhub.inputs import random_inputs

    model = onnx.load(str(_relu_model(tmp_path, [4_000_000], TensorProto.FLOAT)))  # 16 MB of float32
    tracemalloc.start()
    try:
        feeds = random_inputs(model, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert feeds["x"].dtype == np.float32
    assert peak < 1.5 * feeds["x"].nbytes, peak  # float64-then-cast peaks at 3x


# -- models that pass the checker but fail when run -------------------------------------
def _constant_of_shape(tmp_path):
    shape = helper.make_tensor("s", TensorProto.INT64, [1], [2**40])
    return _model(tmp_path / "cos.onnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None]),
                   helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])],
                  [helper.make_node("Constant", [], ["shape"], value=shape),
                   helper.make_node("ConstantOfShape", ["shape"], ["y"]),
                   helper.make_node("Identity", ["x"], ["z"])])


def _bad_cast(tmp_path):
    return _model(tmp_path / "cast.onnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                  [helper.make_node("Cast", ["x"], ["c"], to=1), helper.make_node("Identity", ["c"], ["y"])])


@pytest.mark.parametrize("backend", ["reference", "onnxruntime"])
def test_constant_of_shape_2_40_fails_naming_the_backend(cli, tmp_path, backend):
    r = cli("run", _constant_of_shape(tmp_path), "--random-inputs", "--backend", backend)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]  # onnxruntime logs its own error line first (its plugin's to silence)
    assert last.startswith("onnxhub: error: ") and f"backend {backend!r}" in last


@pytest.mark.parametrize("backend", ["reference", "onnxruntime"])
def test_bad_dtype_enum_fails_naming_the_backend(cli, tmp_path, backend):
    path = _bad_cast(tmp_path)
    model = onnx.load(str(path))
    model.graph.node[0].attribute[0].i = 999  # passes onnx.checker, fails in every backend
    path.write_bytes(model.SerializeToString())
    r = cli("run", path, "--random-inputs", "--backend", backend)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert backend in r.stderr.strip().splitlines()[-1]


# -- external data ---------------------------------------------------------------------
@pytest.mark.parametrize("key,value,fragment", [("offset", "ten", "not a whole number"),
                                                ("length", "-4", "negative")])
def test_external_data_bad_numbers(cli, tmp_path, key, value, fragment):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_bytes(_weights_bytes())
    path = _external_model(folder, "w.bin")
    model = onnx.load(str(path), load_external_data=False)
    next(t for t in model.graph.initializer if t.name == "W").external_data.add(key=key, value=value)
    path.write_bytes(model.SerializeToString())
    assert_clean_failure(cli("run", path, "--random-inputs"), fragment)


def test_external_data_nul_in_location(cli, tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_bytes(_weights_bytes())
    assert_clean_failure(cli("run", _external_model(folder, "w.bin\0x"), "--random-inputs"), "NUL")


# -- backends and options --------------------------------------------------------------
def test_wrongly_typed_option(cli, tiny_model):
    r = cli("run", tiny_model, "--random-inputs", "--dim", "N=2", "--backend", "onnxruntime",
            "--option", 'intra_op_num_threads="many"')
    assert_clean_failure(r, "'onnxruntime'", "intra_op_num_threads")


@pytest.mark.parametrize("spec", ["os:", "json:loads"])
def test_module_that_is_not_a_backend(cli, tiny_model, spec):
    assert_clean_failure(cli("run", tiny_model, "--random-inputs", "--backend", spec), "not an ONNX backend")


def test_test_backend_module_that_is_not_a_backend(cli):
    assert_clean_failure(cli("test-backend", "json:loads", "-k", "test_relu$"), "not an ONNX backend")


# -- test-backend arguments ------------------------------------------------------------
@pytest.mark.parametrize("args,fragment", [(["-k", "("], "regular expression"),
                                           (["-k", "^test_relu_cpu$", "--timeout", "nan"], "--timeout"),
                                           (["-k", "^test_relu_cpu$", "--timeout", "0"], "--timeout"),
                                           (["-k", "^test_relu_cpu$", "--timeout", "-1"], "--timeout")])
def test_test_backend_bad_arguments(cli, args, fragment):
    assert_clean_failure(cli("test-backend", "reference", "-j", "1", *args, timeout=120), fragment)


def test_test_backend_pattern_matching_nothing(cli):
    r = cli("test-backend", "reference", "-j", "1", "-k", "NOMATCH_no_such_case", timeout=120)
    assert_clean_failure(r, "matches no case")


def test_run_suite_checks_its_arguments():
    from onnxhub.conformance.runner import run_suite
    from onnxhub.errors import UsageError

    for kwargs in ({"timeout": float("nan"), "pattern": "^test_relu_cpu$"}, {"timeout": 0, "pattern": "^test_relu_cpu$"},
                   {"pattern": "("}):
        with pytest.raises(UsageError):
            run_suite("reference", **kwargs)


# -- verify ---------------------------------------------------------------------------
@pytest.mark.parametrize("tol", ["--rtol", "--atol"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_verify_bad_tolerance(cli, tiny_model, tol, value):
    r = cli("verify", tiny_model, "--backends", "reference,reference", "--random-inputs", tol, value)
    assert_clean_failure(r, tol)


BAD_BACKENDS = """
import numpy as np
from onnxhub import hookimpl, BackendSpec
from onnxhub.backend.reference import ReferenceBackend, ReferenceRep

KIND = {kind!r}


class BadRep(ReferenceRep):
    def run(self, inputs, **kw):
        good = super().run(inputs)
        if KIND == "empty":
            return []
        if KIND == "extra":
            return list(good) + [np.zeros(1, np.float32)]
        if KIND == "string":
            return "nonsense"
        if KIND == "dict":
            return {{"y": good[0]}}
        if KIND == "shape":
            return [np.zeros((7, 7, 7), np.float32)]
        if KIND == "dtype":
            return [good[0].astype(np.float64)]
        if KIND == "raise":
            raise RuntimeError("kernel exploded")
        if KIND == "none":
            return None
        return good


class BadBackend(ReferenceBackend):
    name = "broken"

    @classmethod
    def prepare_rep(cls, model, device, **options):
        return BadRep(model)


@hookimpl
def register_backends(register):
    register(BackendSpec(name="broken", summary="returns junk", target="fakeplug_broken:BadBackend", priority=-5))
"""

KINDS = ["empty", "extra", "string", "dict", "shape", "dtype", "raise", "none"]


@pytest.mark.parametrize("kind", KINDS)
def test_run_checks_backend_outputs(plugin_site, tiny_model, kind):
    install_fake_plugin(plugin_site, "broken-plugin", "brokenplug", "fakeplug_broken", BAD_BACKENDS.format(kind=kind))
    r = run_cli("run", tiny_model, "--random-inputs", "--dim", "N=2", "--backend", "broken")
    assert_clean_failure(r, "'broken'", "plugin 'brokenplug'")


@pytest.mark.parametrize("order", ["broken,reference", "reference,broken"])
def test_verify_with_a_backend_returning_nothing_fails(plugin_site, tiny_model, order):
    install_fake_plugin(plugin_site, "broken-plugin", "brokenplug", "fakeplug_broken", BAD_BACKENDS.format(kind="empty"))
    r = run_cli("verify", tiny_model, "--backends", order, "--random-inputs", "--dim", "N=2")
    assert_clean_failure(r, "'broken'", "0 output(s)")


def test_verify_with_good_fake_backend_still_passes(plugin_site, tiny_model):
    install_fake_plugin(plugin_site, "broken-plugin", "brokenplug", "fakeplug_broken", BAD_BACKENDS.format(kind="ok"))
    r = run_cli("verify", tiny_model, "--backends", "broken,reference", "--random-inputs", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ok"]


# -- output folders -------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_read_only_output_folder(cli, tmp_path, tiny_model):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        r = cli("run", tiny_model, "--random-inputs", "--backend", "reference", "-o", folder / "out.npz")
        assert_clean_failure(r, "ro")
        r = cli("import", tiny_model, "--to", "mxnet", "-o", folder / "sub")
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    finally:
        folder.chmod(0o700)
    assert list(folder.iterdir()) == []


# -- MXNet symbol JSON nested 10^5 deep -----------------------------------------------
def test_mxnet_symbol_json_nested_deep(cli, tmp_path):
    sym = tmp_path / "deep-symbol.json"
    sym.write_text('{"nodes": ' + "[" * 100_000 + "]" * 100_000 + ', "heads": []}')
    out = tmp_path / "m.onnx"
    r = cli("export", sym, "--from", "mxnet", "-o", out)
    assert_clean_failure(r, "deep-symbol.json")
    assert not out.exists()


def test_make_model_still_runs(cli, tmp_path):
    path = tmp_path / "t.onnx"
    make_model(path)
    assert cli("run", path, "--random-inputs", "--backend", "onnxruntime").returncode == 0


def test_negative_declared_dims_are_unknown(tmp_path):
    """Paddle2ONNX declares dynamic dims as dim_value -1: outputs of any size match them."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [-1, 2])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    np.save(tmp_path / "x.npy", np.ones((3, 2), np.float32))
    r = run_cli("run", path, "-i", f"x={tmp_path / 'x.npy'}", "--backend", "reference")
    assert r.returncode == 0, r.stderr
