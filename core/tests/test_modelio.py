"""modelio: streamed saving writes exactly what ONNX's own serializer would."""

import os
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from onnxhub.modelio import save_streaming


def weights():
    rng = np.random.default_rng(0)
    return {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f16": rng.standard_normal(5).astype(np.float16),
        "f64_strided": rng.standard_normal((4, 4))[:, ::2],
        "i64": np.arange(6, dtype=np.int64).reshape(2, 3),
        "u8": np.arange(3, dtype=np.uint8),
        "bool": np.array([True, False, True]),
        "scalar": np.float32(2.5),  # stays 0-d
        "empty": np.zeros((0, 3), np.float32),
        "big": rng.standard_normal(300_000).astype(np.float32),  # length varints of 3 bytes
        "big_endian": np.arange(4, dtype=">i4"),
    }


def test_streamed_initializers_round_trip(tmp_path):
    arrays = weights()
    nodes = [helper.make_node("Identity", [k], [f"{k}_out"]) for k in arrays]
    outputs = [helper.make_tensor_value_info(f"{k}_out", helper.np_dtype_to_tensor_dtype(
        np.asarray(v).dtype.newbyteorder("=")), np.shape(v)) for k, v in arrays.items()]
    model = helper.make_model(helper.make_graph(nodes, "g", [], outputs), opset_imports=[helper.make_opsetid("", 17)])
    path = save_streaming(model, list(arrays.items()), tmp_path / "m.onnx")
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    got = {t.name: numpy_helper.to_array(t) for t in loaded.graph.initializer}
    assert list(got) == list(arrays)
    for name, want in arrays.items():
        want = np.asarray(want)
        assert got[name].shape == want.shape and got[name].dtype == want.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_streamed_file_is_refused_when_it_exists(tmp_path):
    from onnxhub.errors import UsageError

    target = tmp_path / "m.onnx"
    target.write_bytes(b"mine")
    model = helper.make_model(helper.make_graph([], "g", [], []))
    with pytest.raises(UsageError):
        save_streaming(model, [], target)
    assert target.read_bytes() == b"mine"


# -- atomic output: staging names, stale sweep, replacing folders (issue 16) ---------------
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_staging_entries_are_swept_and_nothing_else(tmp_path):
    import os
    import time

    from onnxhub.modelio import STALE_AFTER, atomic_file

    dead, alive = _dead_pid(), os.getpid()
    stale_file = tmp_path / f".m.onnx.onnxhub-{dead}-abcd1234.tmp"
    stale_dir = tmp_path / f".out.onnxhub-{dead}-abcd1234.stage"
    young_live = tmp_path / f".m.onnx.onnxhub-{alive}-efgh5678.tmp"
    old_live = tmp_path / f".n.onnx.onnxhub-{alive}-ijkl9012.tmp"
    legacy_old = tmp_path / ".m.onnx.k2j4h6g8.tmp"  # what mkstemp made before; no PID: age only
    legacy_young = tmp_path / ".m.onnx.q2w4e6r8.tmp"
    users = [tmp_path / ".notes.tmp", tmp_path / f".m.onnx.{dead}.tmp", tmp_path / f"x.onnxhub-{dead}-abcd1234.tmp"]
    for p in [stale_file, young_live, old_live, legacy_old, legacy_young, *users]:
        p.write_bytes(b"x")
    stale_dir.mkdir()
    (stale_dir / "big.params").write_bytes(b"x" * 1000)
    hour_ago = time.time() - STALE_AFTER - 60
    for p in (old_live, legacy_old):
        os.utime(p, (hour_ago, hour_ago))
    with atomic_file(tmp_path / "m.onnx") as tmp:
        tmp.write_bytes(b"model")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(p.name for p in [young_live, legacy_young, *users, tmp_path / "m.onnx"])


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="zombie state is read from /proc")
def test_staging_of_an_unreaped_dead_process_is_swept(tmp_path):
    # A killed hub's orphaned worker is never reaped where PID 1 does not reap (containers):
    # it stays a zombie, which os.kill(pid, 0) still finds. Its staging must go all the same.
    import subprocess
    import sys

    from onnxhub.modelio import sweep_stale

    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exits, and is not waited for yet
    try:
        for _ in range(200):
            with open(f"/proc/{zombie.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the child did not exit")
        stage = tmp_path / f".m.onnxhub-{zombie.pid}-abcd1234.stage"
        stage.mkdir()
        assert sweep_stale(tmp_path) == [stage.name]
    finally:
        zombie.wait()


def test_staging_names_stay_within_255_bytes(tmp_path):
    from onnxhub.modelio import atomic_dir, atomic_file

    for name in ("a" * 255, "é" * 127 + "x"):  # the longest legal names, in ASCII and UTF-8
        with atomic_file(tmp_path / name) as tmp:
            assert len(os.fsencode(tmp.name)) <= 255
            tmp.write_bytes(b"ok")
        assert (tmp_path / name).read_bytes() == b"ok"
        (tmp_path / name).unlink()
        with atomic_dir(tmp_path / name, kind="t") as stage:
            assert len(os.fsencode(stage.name)) <= 255
        assert (tmp_path / name).is_dir()


def test_a_failed_replace_keeps_the_old_folder(tmp_path):
    from onnxhub.modelio import atomic_dir

    out = tmp_path / "out"
    with atomic_dir(out, kind="t") as stage:
        (stage / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(out, kind="t", force=True) as stage:
            (stage / "a.txt").write_text("new")
            raise RuntimeError("converter failed")
    assert (out / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replacing_swaps_the_new_folder_in_before_the_old_goes(tmp_path, monkeypatch):
    """The old folder is removed only once the new one is in place (no rmtree of the target first)."""
    import shutil

    from onnxhub import modelio

    out = tmp_path / "out"
    with modelio.atomic_dir(out, kind="t") as stage:
        (stage / "a.txt").write_text("old")
    seen = []
    real_rmtree = shutil.rmtree

    def watching_rmtree(path, *args, **kwargs):
        seen.append((str(path), (out / "a.txt").read_text()))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(modelio.shutil, "rmtree", watching_rmtree)
    for exchange in (True, False):
        if not exchange:
            monkeypatch.setattr(modelio, "_exchange", lambda a, b: False)
        with modelio.atomic_dir(out, kind="t", force=True) as stage:
            (stage / "a.txt").write_text(f"new {exchange}")
        assert seen and all(Path(p) != out for p, _ in seen)
        assert seen[-1][1] == f"new {exchange}"  # the new content was in place when the old went
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
        seen.clear()


@pytest.mark.parametrize("path", ["/dev/null", "/dev/zero"])
def test_device_nodes_are_never_outputs(path):
    from onnxhub.errors import UsageError
    from onnxhub.modelio import check_output_file

    with pytest.raises(UsageError, match="not a regular file"):
        check_output_file(Path(path), force=True)


def test_external_data_file_is_staged_and_never_clobbered(tmp_path, monkeypatch):
    """A model past the size limit writes NAME.data beside it under the same rules as NAME itself."""
    from onnxhub import modelio
    from onnxhub.errors import UsageError

    monkeypatch.setattr(modelio, "EXTERNAL_DATA_ABOVE", 100)
    w = numpy_helper.from_array(np.arange(1000, dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1000])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "m.onnx.data").write_bytes(b"mine")
    with pytest.raises(UsageError, match="--force"):
        modelio.save_model(model, tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx.data").read_bytes() == b"mine" and not (tmp_path / "m.onnx").exists()
    modelio.save_model(model, tmp_path / "m.onnx", force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data"]
    loaded = onnx.load(str(tmp_path / "m.onnx"))
    np.testing.assert_array_equal(numpy_helper.to_array(loaded.graph.initializer[0]), np.arange(1000, dtype=np.float32))
