"""What the user is told when a model fails, misbehaves or returns more than one tensor."""

import os

import pytest
import torch
import torch.nn as nn
import torchvision

from conftest import build, run_cli, save_torchscript
from generator import metadata as md, record
from generator.errors import ExportError, ModelError, UsageError
from generator.project import ModelOptions, export_pipeline, new_project
from generator.runtimes.lite import compare_with_source
from generator.verify import error_reason, select_output


class InPlace(nn.Module):
    """Changes its input in place, as relu_/mul_ in a first layer do."""

    def forward(self, x):
        x.mul_(2.0)
        return x.mean((2, 3))


class MakesNaN(nn.Module):
    def forward(self, x):
        return x.mean((2, 3)) * float("nan")


class RaisesInForward(nn.Module):
    def forward(self, x):
        raise ValueError("weights were never loaded into this model")


class DictSegmenter(nn.Module):
    """DeepLabV3's output layout: {'out': ..., 'aux': ...}."""

    def __init__(self, key: str = "out") -> None:
        super().__init__()
        self.key = key
        self.head = nn.Conv2d(3, 4, 1)
        self.aux = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        return {self.key: self.head(x), "aux": self.aux(x)}


class TupleOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 6)

    def forward(self, x):
        pooled = x.mean((2, 3))
        return pooled.sum(1, keepdim=True), self.fc(pooled)


def _factory(tmp_path, cls_name, args=""):
    f = tmp_path / f"{cls_name}.py"
    f.write_text(f"import sys\nsys.path.insert(0, {os.path.dirname(__file__)!r})\nimport torch\n"
                 f"from test_verify import {cls_name}\ndef make():\n    torch.manual_seed(0)\n    return {cls_name}({args})\n")
    return f"{f}:make"


# ---- item 3 / issue 6.7: the model's own cause, advice only where it follows ---------------------

def test_torchscript_error_keeps_the_models_own_cause(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "gray.pt"
    torch.jit.save(torch.jit.trace(nn.Conv2d(1, 4, 3).eval(), torch.rand(1, 1, 16, 16)), str(path))
    with pytest.raises(ModelError) as info:
        export_pipeline(ModelOptions(str(path), input_size="16x16", task="tensor"), tmp_path / "out")
    text = str(info.value)
    assert "expected input[1, 3, 16, 16] to have 1 channels, but got 3 channels" in text, text
    assert "TorchScript interpreter" not in text and "check --input-size" in text


def test_dtype_errors_get_dtype_advice_not_size_advice():
    try:
        torch.jit.script(IndexModel())(torch.rand(1, 3, 4, 4))
    except RuntimeError as exc:
        caught = exc
    reason = error_reason(caught)
    assert "TorchScript" not in reason and ("int" in reason.lower() or "long" in reason.lower()), reason
    from generator.verify import error_advice

    assert "--input-dtype int64" in error_advice(reason) and "--input-size" not in error_advice(reason)


class IndexModel(nn.Module):
    def forward(self, x):
        flat = x.flatten()
        return torch.index_select(flat, 0, flat[:3]).unsqueeze(0)


def test_exception_inside_forward_keeps_its_text_without_size_advice(tmp_path):
    with pytest.raises(ModelError) as info:
        export_pipeline(ModelOptions(_factory(tmp_path, "RaisesInForward"), input_size="8x8", task="tensor"), tmp_path / "o")
    text = str(info.value)
    assert "weights were never loaded into this model" in text and "--input-size" not in text


def test_nan_output_is_blamed_on_the_model_not_the_export(tmp_path):
    with pytest.raises(ModelError, match="itself produces NaN or Inf on the sample input") as info:
        export_pipeline(ModelOptions(_factory(tmp_path, "MakesNaN"), input_size="8x8", task="classification"), tmp_path / "o")
    assert "--script" not in str(info.value)


def test_model_that_changes_its_input_in_place_exports(tmp_path):
    exp = export_pipeline(ModelOptions(_factory(tmp_path, "InPlace"), input_size="8x8", task="classification"), tmp_path / "o")
    assert exp.max_abs_error == 0.0


# ---- item 5: torchvision operators -----------------------------------------------------------------

class WithNms(nn.Module):
    def forward(self, x):
        scores = x.flatten()[:8]
        corners = x.mean(1).reshape(-1, 4)[:8].abs().cumsum(1)
        keep = torchvision.ops.nms(corners, scores, 0.5)
        return scores[keep].unsqueeze(0)


def test_torchscript_with_torchvision_ops_loads_and_is_flagged(tmp_path):
    path = tmp_path / "nms.pt"
    torch.jit.save(torch.jit.script(WithNms()), str(path))
    # A fresh process has not imported torchvision: the loader must do it.
    proc = run_cli("export", "--model", str(path), "--task", "tensor", "--input-size", "8x8", "--output", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "damaged" not in proc.stderr
    notes = [n for n in " ".join(proc.stdout.split()).split("note: ") if "torchvision::nms" in n]
    assert len(notes) == 1 and "do not ship" in notes[0] and "post-processing" in notes[0], proc.stdout


# ---- item 7: dict and tuple outputs -----------------------------------------------------------------

def test_dict_output_uses_out_by_default_everywhere(tmp_path):
    from generator.project import check_project

    result = new_project(name="seg", model=_factory(tmp_path, "DictSegmenter"), output=tmp_path / "seg",
                         input_size="8x8", output_key="aux")
    meta = result.exported.meta
    assert meta.task == "segmentation" and meta.output_key == "aux" and meta.output_shape == (1, 5, 8, 8)
    _, back, _ = record.load(tmp_path / "seg")
    assert back.output_key == "aux"
    assert '"key":"aux"' in md.Metadata.to_json(meta, "x")
    assert any("returns a dict" in n and "['aux']" in n for n in result.notes)
    runner = next((tmp_path / "seg" / "android").rglob("ModelRunner.java")).read_text()
    assert 'DEFAULT_OUTPUT_KEY =\n            "aux";' in runner
    # The C++ core (iOS) reads the key from the embedded metadata and must reproduce the goldens.
    report = check_project(tmp_path / "seg", run_host_tests=False, run_native=True)
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    assert [c.status for c in report.checks if c.name.startswith("C++ core reproduces the expected output")] == ["pass"]


def test_dict_output_default_key_is_out(tmp_path):
    exp = export_pipeline(ModelOptions(_factory(tmp_path, "DictSegmenter"), input_size="8x8"), tmp_path / "o")
    assert exp.meta.output_key == "out" and exp.meta.output_shape == (1, 4, 8, 8)


def test_output_key_picks_another_entry(tmp_path):
    exp = export_pipeline(ModelOptions(_factory(tmp_path, "DictSegmenter"), input_size="8x8", output_key="aux"), tmp_path / "o")
    assert exp.meta.output_key == "aux" and exp.meta.output_shape == (1, 5, 8, 8)


def test_dict_without_out_lists_its_keys(tmp_path):
    with pytest.raises(UsageError, match="keys logits, aux; pass --output-key"):
        export_pipeline(ModelOptions(_factory(tmp_path, "DictSegmenter", "'logits'"), input_size="8x8"), tmp_path / "o")
    with pytest.raises(UsageError, match="'nope' is not among the model's outputs"):
        export_pipeline(ModelOptions(_factory(tmp_path, "DictSegmenter"), input_size="8x8", output_key="nope"), tmp_path / "o")


def test_tuple_output_index(tmp_path):
    first = export_pipeline(ModelOptions(_factory(tmp_path, "TupleOut"), input_size="8x8", task="tensor"), tmp_path / "a")
    assert first.meta.output_index == 0 and first.meta.output_shape == (1, 1)
    second = export_pipeline(ModelOptions(_factory(tmp_path, "TupleOut"), input_size="8x8", output_index=1), tmp_path / "b")
    assert second.meta.task == "classification" and second.meta.output_index == 1 and second.meta.output_shape == (1, 6)
    with pytest.raises(UsageError, match="out of range"):
        select_output((torch.zeros(1),), "m", index=3)


# ---- item 11: relative tolerance, XNNPACK note ------------------------------------------------------

def test_rtol_allows_relative_error_only_up_to_its_share(tmp_path):
    from generator.runtimes.lite import load_lite
    from generator.verify import run_module

    exp = export_pipeline(ModelOptions(str(save_torchscript(build("classification"), tmp_path / "m.pt")), input_size="16x16"),
                          tmp_path / "o")
    example = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    actual = run_module(load_lite(exp.asset), example, "m")
    reference = actual * (1 + 5e-6)  # a relative error of 5e-6 and no absolute slack at all
    err, _ = compare_with_source(exp.asset, reference, example, tolerance=0.0, rtol=1e-5)
    assert err > 0
    with pytest.raises(ExportError, match=r"tolerance 0 \+ rtol 1e-06"):
        compare_with_source(exp.asset, reference, example, tolerance=0.0, rtol=1e-6)


def test_rtol_is_recorded_and_used_by_check_and_xnnpack_skip_is_a_note(tmp_path, ts_model):
    from generator.project import check_project

    result = new_project(name="demo", model=ts_model("classification"), output=tmp_path / "demo", input_size="16x16",
                         platforms=("android",), rtol=2e-5)
    config, _, _ = record.load(tmp_path / "demo")
    assert config.rtol == 2e-5
    assert any(n.startswith("optimize_for_mobile skipped: this torch build has no XNNPACK") for n in result.notes)
    report = check_project(tmp_path / "demo", run_host_tests=False, run_native=False)
    row = [c for c in report.checks if c.name == "asset reproduces the expected output"][0]
    assert row.status == "pass" and "rtol 2e-05" in row.detail


def test_rtol_out_of_range_is_one_line(tmp_path, ts_model):
    proc = run_cli("export", "--model", str(ts_model("classification")), "--rtol", "-1", "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--rtol -1.0 must be >= 0" in proc.stderr and "Traceback" not in proc.stderr


# ---- item 4: non-image inputs -----------------------------------------------------------------------

class AudioFeatures(nn.Module):
    """1 x 16 mel bands x 40 frames -> 1 x 6 scores."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(16, 8, 3)
        self.fc = nn.Linear(8, 6)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(2))


class Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 4)

    def forward(self, ids):
        return self.embed(ids).mean(1)


def test_audio_and_token_models_export_with_a_tensor_input(tmp_path):
    torch.manual_seed(0)
    audio = tmp_path / "audio.pt"
    torch.jit.save(torch.jit.trace(AudioFeatures().eval(), torch.rand(1, 16, 40)), str(audio))
    proc = run_cli("export", "--model", str(audio), "--task", "tensor", "--input-shape", "1x16x40", "--output", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    sample = (tmp_path / "a" / "sample_input.bin").read_bytes()
    assert len(sample) == 16 * 40 * 4 and not (tmp_path / "a" / "sample.png").exists()
    meta = md.read_embedded((tmp_path / "a" / "metadata.json").read_text())
    assert meta["input"]["shape"] == [1, 16, 40] and meta["input"]["dtype"] == "float32"
    assert "1x16x40 float32 tensor" in (tmp_path / "a" / "report.md").read_text()
    # Same inputs, same bytes: the sample is seeded.
    again = run_cli("export", "--model", str(audio), "--task", "tensor", "--input-shape", "1x16x40", "--output", str(tmp_path / "b"))
    assert again.returncode == 0 and (tmp_path / "b" / "sample_input.bin").read_bytes() == sample

    tokens = tmp_path / "tokens.pt"
    torch.jit.save(torch.jit.script(Tokens().eval()), str(tokens))
    exp = export_pipeline(ModelOptions(str(tokens), task="tensor", input_shape="1x12", input_dtype="int64"), tmp_path / "t")
    assert exp.meta.input_shape == (1, 12) and exp.meta.input_dtype == "int64" and exp.meta.output_shape == (1, 4)
    assert len(exp.goldens.sample_input) == 12 * 8
    assert md.Metadata.from_embedded(md.read_embedded(exp.meta.to_json("x"))) == exp.meta


def test_tensor_input_options_are_checked(tmp_path, ts_model):
    model = str(ts_model("classification"))
    for args, fragment in [
        (["--input-shape", "1x16"], "need --task tensor"),
        (["--task", "tensor", "--input-shape", "1xax3"], "not dimensions joined by x"),
        (["--task", "tensor", "--input-shape", "1x0"], "out of range"),
        (["--task", "tensor", "--input-shape", "1x4", "--input-dtype", "bool"], "use float32 or int64"),
        (["--task", "tensor", "--input-dtype", "int64"], "needs --input-shape too"),
    ]:
        proc = run_cli("export", "--model", model, *args, "--output", str(tmp_path / "o"))
        assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    # `new` takes them too (tests/test_tensor_input.py) and refuses the same mistakes before writing anything.
    proc = run_cli("new", "demo", "--model", model, "--input-shape", "1x4", "--output", str(tmp_path / "n"))
    assert proc.returncode == 2 and "need --task tensor" in proc.stderr
    assert not (tmp_path / "n").exists()
