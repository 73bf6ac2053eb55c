"""Every kind of --model input, and every broken one, ends in a model or a one-line ModelError."""

import os

import pytest
import torch

from conftest import build, save_torchscript
from generator.errors import ModelError, UsageError
from generator.loading import classify_file, load_model


def test_torchscript_exported_program_lite_and_factory_load(tmp_path):
    model = build("classification")
    ts = save_torchscript(model, tmp_path / "m.pt")
    assert load_model(ts).kind == "torchscript"
    torch.export.save(torch.export.export(model, (torch.rand(1, 3, 16, 16),)), str(tmp_path / "m.pt2"))
    assert load_model(tmp_path / "m.pt2").kind == "exported-program"
    torch.jit.load(str(ts))._save_for_lite_interpreter(str(tmp_path / "m.ptl"))
    assert load_model(tmp_path / "m.ptl").kind == "lite"
    factory = tmp_path / "factory.py"
    factory.write_text("import torch\ndef make():\n    return torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.Tanh())\n")
    loaded = load_model(f"{factory}:make")
    assert loaded.kind == "factory" and loaded.last_activation == "Tanh"


def test_factory_with_weights_loads_them_weights_only(tmp_path):
    factory = tmp_path / "f.py"
    factory.write_text("import torch\ndef make():\n    return torch.nn.Conv2d(3, 2, 1)\n")
    ref = torch.nn.Conv2d(3, 2, 1)
    torch.save(ref.state_dict(), tmp_path / "w.pth")
    loaded = load_model(f"{factory}:make", weights=tmp_path / "w.pth")
    assert torch.equal(loaded.module.weight, ref.weight)
    torch.save(torch.nn.Conv2d(3, 5, 1).state_dict(), tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="do not fit"):
        load_model(f"{factory}:make", weights=tmp_path / "bad.pth")


def test_pickle_is_refused_before_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    # A pickle that would create a file if it were ever unpickled.
    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ModelError, match="--trust-pickle"):
        load_model(tmp_path / "evil.pt")
    assert not marker.exists()
    torch.save(build("classification"), tmp_path / "whole.pt")
    with pytest.raises(ModelError, match="pickle"):
        load_model(tmp_path / "whole.pt")
    assert load_model(tmp_path / "whole.pt", trust_pickle=True).kind == "pickle"
    torch.save(build("classification"), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    assert classify_file(tmp_path / "legacy.pt") == "pickle"


def test_broken_files_give_one_line_errors(tmp_path):
    good = save_torchscript(build("classification"), tmp_path / "good.pt").read_bytes()
    cases = {
        "missing.pt": None,
        "empty.pt": b"",
        "truncated.pt": good[: len(good) // 2],
        "random.pt": os.urandom(4096),
        "zip.pt": None,
    }
    import zipfile
    with zipfile.ZipFile(tmp_path / "zip.pt", "w") as zf:
        zf.writestr("hello.txt", "not a model")
    for name, data in cases.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError) as info:
            load_model(tmp_path / name)
        assert "\n" not in str(info.value) and str(tmp_path / name) in str(info.value)


def test_factory_failures(tmp_path):
    f = tmp_path / "f.py"
    f.write_text("def boom():\n    raise ValueError('no weights here')\ndef notmodel():\n    return 3\n")
    with pytest.raises(ModelError, match="raised ValueError: no weights here"):
        load_model(f"{f}:boom")
    with pytest.raises(ModelError, match="not a torch.nn.Module"):
        load_model(f"{f}:notmodel")
    with pytest.raises(ModelError, match="no function"):
        load_model(f"{f}:missing")
    (tmp_path / "syntax.py").write_text("def x(:\n")
    with pytest.raises(ModelError, match="SyntaxError"):
        load_model(f"{tmp_path / 'syntax.py'}:x")
    with pytest.raises(UsageError, match="--weights only applies"):
        load_model(save_torchscript(build("classification"), tmp_path / "m.pt"), weights=tmp_path / "w.pth")
