"""Quantized models: every host reference runs on QNNPACK, the engine of the phones' runtimes."""

import torch
import torch.ao.quantization as tq
import torch.nn as nn

from generator import qengine, record, verify
from generator.project import ModelOptions, check_project, export_pipeline, new_project, report_markdown


class TinyQuantized(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant = tq.QuantStub()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8, 5)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        x = self.relu(self.bn(self.conv(self.quant(x))))
        return self.dequant(self.fc(torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)))


def quantized_torchscript(path, size: int = 16):
    """Eager-mode static quantization for qnnpack: fuse, prepare, calibrate, convert, trace."""
    torch.manual_seed(0)
    model = TinyQuantized().eval()
    with qengine.restored():
        torch.backends.quantized.engine = "qnnpack"
        model.qconfig = tq.get_default_qconfig("qnnpack")
        model = tq.fuse_modules(model, [["conv", "bn", "relu"]])
        tq.prepare(model, inplace=True)
        gen = torch.Generator().manual_seed(1)
        for _ in range(4):
            model(torch.rand(1, 3, size, size, generator=gen))
        tq.convert(model, inplace=True)
        torch.jit.save(torch.jit.trace(model, torch.rand(1, 3, size, size)), str(path))
    return path


def test_quantized_model_is_detected_and_float_is_not(tmp_path):
    path = quantized_torchscript(tmp_path / "q.pt")
    assert qengine.is_quantized(torch.jit.load(str(path)))
    assert not qengine.is_quantized(torch.jit.trace(nn.Conv2d(3, 3, 1), torch.rand(1, 3, 4, 4)))


def test_every_host_reference_runs_on_qnnpack(tmp_path, monkeypatch):
    path = quantized_torchscript(tmp_path / "q.pt")
    seen = []
    real = verify.call_module

    def spy(module, example, where):
        seen.append((where, torch.backends.quantized.engine))
        return real(module, example, where)

    monkeypatch.setattr(verify, "call_module", spy)
    monkeypatch.setattr("generator.project.call_module", spy)
    monkeypatch.setattr("generator.runtimes.lite.call_module", spy)
    before = torch.backends.quantized.engine
    assert before != "qnnpack"  # the host default (x86 here): what the bug used
    exp = export_pipeline(ModelOptions(str(path), input_size="16x16"), tmp_path / "out")
    assert {w for w, _ in seen} >= {"the model", "the exported lite model"}
    assert {e for _, e in seen} == {"qnnpack"}, seen
    assert torch.backends.quantized.engine == before  # restored
    assert exp.quantized_engine == "qnnpack" and exp.model_record()["quantized_engine"] == "qnnpack"
    report = report_markdown(exp)
    assert "| quantized engine | qnnpack" in report
    assert "not comparable: quantized weights sit in packed parameters" in report and " x raw parameter bytes" not in report
    assert any("ran on the qnnpack engine" in n for n in exp.notes)


def test_no_pass_that_makes_the_asset_bigger(tmp_path):
    path = quantized_torchscript(tmp_path / "q.pt")
    exp = export_pipeline(ModelOptions(str(path), input_size="16x16"), tmp_path / "out")
    with qengine.restored():
        torch.backends.quantized.engine = "qnnpack"
        torch.jit.load(str(path))._save_for_lite_interpreter(str(tmp_path / "plain.ptl"))
    plain = (tmp_path / "plain.ptl").stat().st_size
    # The kept asset carries the metadata on top; it must never be the bigger of the two saves.
    assert exp.export.size <= plain + len(exp.meta.to_json("scaffold x")) + 512, (exp.export.size, plain)
    kept_freeze = any(p.startswith("freeze") for p in exp.export.passes_run)
    assert kept_freeze or "made the asset bigger" in exp.export.passes_skipped["freeze"]


def test_quantized_project_checks_on_qnnpack_with_the_cxx_core(tmp_path):
    path = quantized_torchscript(tmp_path / "q.pt")
    new_project(name="quant", model=path, output=tmp_path / "quant", input_size="16x16", platforms=("ios",))
    _, _, model = record.load(tmp_path / "quant")
    assert model["quantized_engine"] == "qnnpack"
    report = check_project(tmp_path / "quant", run_host_tests=False, run_native=True)
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    rows = {c.name: c.status for c in report.checks}
    assert rows["asset reproduces the expected output"] == "pass"
    assert rows["C++ core reproduces the expected output (host LibTorch)"] == "pass"


def test_eager_quantized_factory_model_is_detected():
    torch.manual_seed(0)
    model = TinyQuantized().eval()
    with qengine.restored():
        torch.backends.quantized.engine = "qnnpack"
        model.qconfig = tq.get_default_qconfig("qnnpack")
        model = tq.fuse_modules(model, [["conv", "bn", "relu"]])
        tq.prepare(model, inplace=True)
        model(torch.rand(1, 3, 8, 8))
        tq.convert(model, inplace=True)
    assert qengine.is_quantized(model)
    assert not qengine.is_quantized(nn.Sequential(nn.Conv2d(3, 3, 1), nn.ReLU()))
