import pytest
import torch
import yaml

from conftest import build, save_torchscript
from generator import versions
from generator.runtimes import lite as export_mod
from generator.errors import ExportError
from generator.project import ModelOptions, export_pipeline
from generator.runtimes.lite import inspect_asset


class Branchy(torch.nn.Module):
    """Data-dependent control flow: a trace would freeze one branch."""

    def forward(self, x):
        if bool(x.mean() > 0.5):
            return torch.softmax(x.mean((2, 3)), 1)
        return torch.softmax(-x.mean((2, 3)), 1)


class Noisy(torch.nn.Module):
    def forward(self, x):
        return x.mean((2, 3)) + torch.rand(1, 3)


def test_export_writes_versioned_asset_with_metadata_and_operators(tmp_path):
    ts = save_torchscript(build("classification"), tmp_path / "m.pt")
    exp = export_pipeline(ModelOptions(str(ts), input_size="32x32"), tmp_path / "out")
    info = inspect_asset(exp.asset)
    assert info.bytecode_version <= versions.LITE_BYTECODE_MAX
    assert "scaffold.json" in info.extra_files and '"task":"classification"' in info.metadata_raw
    assert "aten::linear" in info.operators
    assert exp.max_abs_error <= 1e-4
    assert yaml.safe_load(export_mod.operators_yaml(info.operators)) == sorted(info.operators)
    assert exp.export.passes_skipped["optimize_for_mobile"].startswith("this torch build has no XNNPACK")


def test_newer_bytecode_is_backported(tmp_path, monkeypatch):
    monkeypatch.setattr(versions, "LITE_BYTECODE_MAX", 7)
    ts = save_torchscript(build("classification"), tmp_path / "m.pt")
    exp = export_pipeline(ModelOptions(str(ts), input_size="16x16"), tmp_path / "out")
    assert exp.export.bytecode_written == 8 and exp.export.bytecode_version == 7
    assert any("backport bytecode 8 -> 7" in p for p in exp.export.passes_run)
    assert inspect_asset(exp.asset).bytecode_version == 7


def test_control_flow_falls_back_to_script(tmp_path):
    (tmp_path / "f.py").write_text("import sys\nsys.path.insert(0, %r)\nfrom test_runtime_lite import Branchy\ndef make():\n    return Branchy()\n"
                                   % str(__import__("pathlib").Path(__file__).parent))
    exp = export_pipeline(ModelOptions(f"{tmp_path / 'f.py'}:make", input_size="8x8", task="classification"), tmp_path / "out")
    assert exp.export.method == "script"
    assert any("scripted instead" in n for n in exp.notes)


def test_mismatch_with_source_fails_export(tmp_path):
    (tmp_path / "f.py").write_text("import sys\nsys.path.insert(0, %r)\nfrom test_runtime_lite import Noisy\ndef make():\n    return Noisy()\n"
                                   % str(__import__("pathlib").Path(__file__).parent))
    with pytest.raises(ExportError, match="differs from the source"):
        export_pipeline(ModelOptions(f"{tmp_path / 'f.py'}:make", input_size="8x8", task="tensor"), tmp_path / "out")


def test_lite_input_gets_metadata_appended(tmp_path):
    ts = save_torchscript(build("segmentation"), tmp_path / "m.pt")
    torch.jit.load(str(ts))._save_for_lite_interpreter(str(tmp_path / "in.ptl"))
    exp = export_pipeline(ModelOptions(str(tmp_path / "in.ptl"), input_size="16x16"), tmp_path / "out")
    assert exp.export.method == "lite-input" and exp.meta.task == "segmentation"
    assert inspect_asset(exp.asset).metadata_raw is not None


class Padded(torch.nn.Module):
    """What a size-increasing pass looks like: same outputs, 400 KB more constants."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("ballast", torch.rand(100_000))

    def forward(self, x):
        return self.inner(x) + 0.0 * self.ballast[: x.shape[0]].sum()  # input-dependent: not folded away


def test_a_pass_that_grows_the_asset_is_dropped(tmp_path, monkeypatch):
    real_freeze = torch.jit.freeze
    monkeypatch.setattr(torch.jit, "freeze", lambda m: real_freeze(torch.jit.script(Padded(m)).eval()))
    ts = save_torchscript(build("classification"), tmp_path / "m.pt")
    exp = export_pipeline(ModelOptions(str(ts), input_size="16x16"), tmp_path / "out")
    assert "made the asset bigger" in exp.export.passes_skipped["freeze"]
    assert not any(p.startswith("freeze") for p in exp.export.passes_run)
    assert exp.export.size < 100_000 and any(n.startswith("freeze made the asset bigger") for n in exp.notes)


def test_large_models_get_a_word_about_store_limits(tmp_path, monkeypatch):
    ts = save_torchscript(build("classification"), tmp_path / "m.pt")
    exp = export_pipeline(ModelOptions(str(ts), input_size="16x16"), tmp_path / "a")
    assert not [n for n in exp.notes if "Google Play" in n or "uncompressed" in n]
    monkeypatch.setattr(export_mod, "LARGE_ASSET_BYTES", 1000)
    exp = export_pipeline(ModelOptions(str(ts), input_size="16x16"), tmp_path / "b")
    assert [n for n in exp.notes if "stored uncompressed in each app" in n]
    monkeypatch.setattr(export_mod, "PLAY_BASE_MODULE_BYTES", 2000)
    monkeypatch.setattr(export_mod, "PLAY_APP_ROOM_BYTES", 1000)
    exp = export_pipeline(ModelOptions(str(ts), input_size="16x16"), tmp_path / "c")
    warning = [n for n in exp.notes if n.startswith("warning:") and "base-module download limit" in n]
    assert len(warning) == 1 and "Play Asset Delivery" in warning[0]


def test_one_model_copy_per_platform_unless_asked(tmp_path):
    from generator.project import check_project, new_project

    ts = save_torchscript(build("classification"), tmp_path / "m.pt")
    result = new_project(name="demo", model=ts, output=tmp_path / "demo", input_size="16x16")
    copies = sorted(p.relative_to(tmp_path / "demo").as_posix() for p in (tmp_path / "demo").rglob("*.ptl"))
    assert copies == ["android/app/src/main/assets/model.ptl", "ios/Demo/Resources/model.ptl"]
    assert result.exported.asset.is_file()
    report = check_project(tmp_path / "demo", run_host_tests=False, run_native=False)
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    new_project(name="demo", model=ts, output=tmp_path / "kept", input_size="16x16", keep_export_asset=True)
    assert (tmp_path / "kept" / "export" / "model.ptl").is_file()
