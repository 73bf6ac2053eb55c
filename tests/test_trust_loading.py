"""No code from a model file runs without --trust-pickle: hostile archives built here, each of
which would create a marker file if anything in scaffold (or torch under it) ran its code."""

import io
import json
import zipfile

import pytest
import torch

from conftest import build, run_cli
from generator.errors import ModelError
from generator.loading import UntrustedCode, load_model


def opener(marker) -> bytes:
    """Pickle opcodes that call builtins.open(marker, 'w') and drop the result: prefix for a pickle body."""
    path = str(marker).encode()
    return (b"cbuiltins\nopen\nX" + len(path).to_bytes(4, "little") + path
            + b"X\x01\x00\x00\x00w\x86R0")


def rewrite_zip(src, dst, change) -> None:
    """Copy a zip member by member; change(name, data) returns new bytes, None to drop, or a dict to add."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if isinstance(data, dict):
                for name, extra in data.items():
                    zout.writestr(name, extra)
            elif data is not None:
                zout.writestr(info.filename, data)


def hostile_torch_save(obj, marker) -> bytes:
    """torch.save(obj) whose data.pkl first opens the marker, then builds obj as usual."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    out = io.BytesIO()

    def change(name, data):
        return data[:2] + opener(marker) + data[2:] if name.endswith("data.pkl") else data
    rewrite_zip(io.BytesIO(buf.getvalue()), out, change)
    return out.getvalue()


def save_pt2(path, model=None):
    model = model or build("classification")
    torch.export.save(torch.export.export(model, (torch.rand(1, 3, 16, 16),)), str(path))
    return path


def edit_program(src, dst, edit) -> None:
    def change(name, data):
        if name.endswith("models/model.json"):
            doc = json.loads(data)
            edit(doc)
            return json.dumps(doc).encode()
        return data
    rewrite_zip(src, dst, change)


def pickled_weight(src, dst, marker, param: bool) -> None:
    """The issue's reproduction: weights config says use_pickle, the weight is a hostile torch.save."""
    model = build("classification")

    def change(name, data):
        if name.endswith("model_weights_config.json"):
            cfg = json.loads(data)
            cfg["config"]["fc.weight"]["use_pickle"] = True
            return json.dumps(cfg).encode()
        if name.endswith("weights/" + json.loads(zipfile.ZipFile(src).read(config_name(src)))["config"]["fc.weight"]["path_name"]):
            weight = model.fc.weight if param else model.fc.weight.detach()
            return hostile_torch_save(weight, marker)
        return data
    rewrite_zip(src, dst, change)


def config_name(src) -> str:
    return next(n for n in zipfile.ZipFile(src).namelist() if n.endswith("model_weights_config.json"))


@pytest.mark.parametrize("param", [False, True], ids=["plain", "stealthy"])
def test_pt2_with_pickled_weights_runs_no_code(tmp_path, param):
    """Without the fix the plain variant fails after running the pickle; the stealthy one (a real
    Parameter after the side effect) even ends with "exported"."""
    marker = tmp_path / "pwned"
    pickled_weight(save_pt2(tmp_path / "ok.pt2"), tmp_path / "evil.pt2", marker, param)
    res = run_cli("export", "--model", str(tmp_path / "evil.pt2"), "--output", str(tmp_path / "out"),
                  "--input-size", "16x16")
    assert res.returncode == 3, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert "builtins.open" in lines[-1] and "--trust-pickle" in lines[-1]
    assert "Traceback" not in res.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()


def _sym_size(doc, marker):
    size = {"as_expr": {"expr_str": f"__import__('os').system('touch {marker}')", "hint": {"as_int": 1}}}
    doc["graph_module"]["graph"]["tensor_values"]["x"]["sizes"][0] = size


def _guard(doc, marker):
    doc["guards_code"] = [f"open('{marker}', 'w') is not None"]


def _target(doc, marker):
    doc["graph_module"]["graph"]["nodes"][0]["target"] = "torch.os.system"


@pytest.mark.parametrize("edit", [_sym_size, _guard, _target], ids=["sympify", "guards_code", "target"])
def test_pt2_program_code_is_refused(tmp_path, edit):
    """The program JSON itself: torch sympify()s (evals) shape expressions, exec()s guards_code and
    resolves node targets by getattr from the torch module."""
    marker = tmp_path / "pwned"
    edit_program(save_pt2(tmp_path / "ok.pt2"), tmp_path / "evil.pt2", lambda doc: edit(doc, marker))
    res = run_cli("export", "--model", str(tmp_path / "evil.pt2"), "--output", str(tmp_path / "out"),
                  "--input-size", "16x16")
    assert res.returncode == 3, res.stdout + res.stderr
    assert "--trust-pickle" in res.stderr.strip().splitlines()[-1] and "Traceback" not in res.stderr
    assert not marker.exists()


def test_pt2_other_unpickled_members_are_checked(tmp_path):
    """Sample inputs (torch falls back to weights_only=False), opaque constants (pickle.loads),
    pickled tensor constants, and AOTInductor libraries."""
    marker = tmp_path / "pwned"
    ok = save_pt2(tmp_path / "ok.pt2")

    def sample_inputs(name, data):
        return hostile_torch_save(((torch.rand(1, 3, 16, 16),), {}), marker) if "sample_inputs" in name else data

    def opaque(name, data):
        if name.endswith("model_constants_config.json"):
            return json.dumps({"config": {"obj": {"path_name": "opaque_obj_0", "is_param": False,
                                                  "use_pickle": True, "tensor_meta": None}}}).encode()
        if name.endswith("archive_format"):
            return {name: data, name.replace("archive_format", "data/constants/opaque_obj_0"): b"\x80\x02" + opener(marker) + b"N."}
        return data

    def aoti(name, data):
        if name.endswith("archive_format"):
            return {name: data, name.replace("archive_format", "data/aotinductor/model/model.so"): b"\x7fELF"}
        return data

    for i, change in enumerate((sample_inputs, opaque, aoti)):
        rewrite_zip(ok, tmp_path / f"evil{i}.pt2", change)
        with pytest.raises(UntrustedCode, match="--trust-pickle"):
            load_model(tmp_path / f"evil{i}.pt2")
        assert not marker.exists()
    # The same sample-inputs file does run its code under torch.export.load: the check is not idle.
    load_model(tmp_path / "evil0.pt2", trust_pickle=True)
    assert marker.exists()


def test_honest_pt2_with_dynamic_shapes_buffers_and_constants_loads(tmp_path):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.scale = torch.rand(4, 1, 1)  # a lifted tensor constant

        def forward(self, x):
            y = self.bn(self.conv(x)) * self.scale
            return torch.nn.functional.interpolate(y, size=(x.shape[2] // 2, x.shape[3] // 2))

    side = torch.export.Dim("side", min=4, max=512)
    ep = torch.export.export(Net().eval(), (torch.rand(1, 3, 16, 16),), dynamic_shapes={"x": {2: 2 * side, 3: 2 * side}})
    torch.export.save(ep, str(tmp_path / "dyn.pt2"))
    loaded = load_model(tmp_path / "dyn.pt2")
    assert tuple(loaded.module(torch.rand(1, 3, 32, 32)).shape) == (1, 4, 16, 16)


@pytest.mark.parametrize("member", ["data.pkl", "constants.pkl", "bytecode.pkl"])
def test_torchscript_and_lite_unpicklers_call_no_python(tmp_path, member):
    """torch.jit.load and the lite interpreter read their pickles with TorchScript's C++ unpickler,
    which resolves no Python globals: verified here rather than assumed."""
    marker = tmp_path / "pwned"
    scripted = torch.jit.script(build("classification"))
    torch.jit.save(scripted, str(tmp_path / "ok.pt"))
    scripted._save_for_lite_interpreter(str(tmp_path / "ok.ptl"))
    for suffix in ("pt", "ptl"):
        names = zipfile.ZipFile(tmp_path / f"ok.{suffix}").namelist()
        if not any(n.endswith("/" + member) for n in names):
            continue
        evil = tmp_path / f"evil.{suffix}"
        rewrite_zip(tmp_path / f"ok.{suffix}", evil,
                    lambda name, data: data[:2] + opener(marker) + data[2:] if name.endswith("/" + member) else data)
        try:
            load_model(evil)
        except ModelError:
            pass
        assert not marker.exists(), f"{member} in a .{suffix} ran Python code"


def test_zip_declaring_a_gibibyte_is_refused_from_its_directory(tmp_path):
    """A 1 MiB zip whose member inflates to 1 GiB: refused from the declared sizes, before testzip
    (which today inflates all of it to check CRCs)."""
    bomb = tmp_path / "bomb.ptl"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m/bytecode.pkl", b"\x80\x02N.")
        with zf.open("m/data/0", "w", force_zip64=True) as fh:
            chunk = bytes(1 << 20)
            for _ in range(1024):
                fh.write(chunk)
    assert bomb.stat().st_size < (8 << 20)
    res = run_cli("inspect", str(bomb))
    assert res.returncode == 3 and "declares" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(ModelError, match=r"declares 1073741\d\d\d bytes"):
        load_model(bomb)


def test_pt2_falling_back_to_torchs_legacy_loader_prints_one_line(tmp_path):
    """torch logs a whole traceback through logging before trying its legacy format."""
    rewrite_zip(save_pt2(tmp_path / "ok.pt2"), tmp_path / "broken.pt2",
                lambda name, data: None if name.endswith("archive_version") else data)
    res = run_cli("export", "--model", str(tmp_path / "broken.pt2"), "--output", str(tmp_path / "out"))
    assert res.returncode == 3
    assert "Traceback" not in res.stderr and "RuntimeError" not in res.stderr
    assert "archive_version" in res.stderr.strip().splitlines()[-1]


def test_pickle_walker_names_every_global_at_every_protocol():
    import collections
    import os
    import pickle

    from generator.loading import _PICKLE_GLOBALS, _pickle_globals

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        assert set(_pickle_globals(pickle.dumps(collections.OrderedDict(a=[1]), protocol=proto))) <= _PICKLE_GLOBALS
        assert "posix.system" in set(_pickle_globals(pickle.dumps([Evil()], protocol=proto)))
    # STACK_GLOBAL from strings the walker cannot pin down (a DUP between them) is reported as unknown.
    sneaky = b"\x80\x04\x8c\x02os\x8c\x06system2\x93."
    assert "?" in set(_pickle_globals(sneaky))
    # The module and name fetched back from the memo are still named.
    memo = b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94(h\x00h\x01\x93."
    assert "posix.system" in set(_pickle_globals(memo))
    for proto in (2, 4, 5):
        buf = io.BytesIO()
        torch.save(build("segmentation").state_dict(), buf, pickle_protocol=proto)
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
            data = zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))
        assert set(_pickle_globals(data)) <= _PICKLE_GLOBALS
