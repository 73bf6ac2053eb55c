"""`scaffold new` end to end on tiny models: bad input, --force, reproducibility, check."""

import os
import zipfile

import pytest
import torch
from typer.testing import CliRunner

from conftest import build, run_cli, save_torchscript, tree_bytes
from generator import record
from generator.cli import app
from generator.project import new_project

runner = CliRunner()


class DictOut(torch.nn.Module):
    def forward(self, x):
        return {"y": x}


class Untraceable(torch.nn.Module):
    def forward(self, *args):
        if torch.jit.is_tracing():
            raise RuntimeError("tracing is not supported here")
        return args[0].mean((2, 3))


def _write_factory(tmp_path, cls_name):
    tests_dir = os.path.dirname(__file__)
    f = tmp_path / f"{cls_name}.py"
    f.write_text(f"import sys\nsys.path.insert(0, {tests_dir!r})\nfrom test_project import {cls_name}\n"
                 f"def make():\n    return {cls_name}()\n")
    return f"{f}:make"


def _invoke(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def bad_models(tmp_path):
    good = save_torchscript(build("classification"), tmp_path / "good.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "trunc.pt").write_bytes(good.read_bytes()[:500])
    (tmp_path / "random.pt").write_bytes(os.urandom(2048))
    torch.save(build("classification"), tmp_path / "pickle.pt")
    (tmp_path / "raises.py").write_text("def make():\n    raise RuntimeError('weights missing')\n")
    # Flatten + Linear: only 16x16 inputs fit, so another --input-size must fail cleanly.
    torch.manual_seed(0)
    save_torchscript(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 2)).eval(), tmp_path / "flat.pt")
    return tmp_path, good


@pytest.mark.parametrize("case, args, fragment", [
    ("missing", ["--model", "{d}/nope.pt"], "not found"),
    ("empty", ["--model", "{d}/empty.pt"], "is empty"),
    ("truncated", ["--model", "{d}/trunc.pt"], "truncated or corrupt"),
    ("random", ["--model", "{d}/random.pt"], "not a PyTorch model"),
    ("pickle", ["--model", "{d}/pickle.pt"], "--trust-pickle"),
    ("factory raises", ["--model", "{d}/raises.py:make"], "raised RuntimeError: weights missing"),
    ("input size", ["--model", "{good}", "--input-size", "big"], "--input-size"),
    ("input size wrong for model", ["--model", "{d}/flat.pt", "--input-size", "32x32"], "failed on the 1x3x32x32 float32 sample input"),
    ("keyword package", ["--model", "{good}", "--package", "com.example.class"], "Java keyword"),
    ("digit package", ["--model", "{good}", "--package", "com.9lives"], "starts with a digit"),
    ("non-ascii package", ["--model", "{good}", "--package", "com.zébra.app"], "not ASCII"),
    ("slash package", ["--model", "{good}", "--package", "com/example"], "path separator"),
    ("empty package", ["--model", "{good}", "--package", ""], "empty"),
    ("bad bundle id", ["--model", "{good}", "--bundle-id", "com..x"], "bundle identifier"),
    ("labels mismatch", ["--model", "{good}", "--labels", "{d}/labels.txt"], "labels but the model outputs"),
])
def test_bad_input_is_one_line_nonzero_and_writes_nothing(bad_models, case, args, fragment):
    d, good = bad_models
    (d / "labels.txt").write_text("a\nb\n")
    out = d / "out"
    code, output = _invoke("new", "demo", *[a.format(d=d, good=good) for a in args], "--output", str(out))
    assert code != 0, output
    assert fragment in output, output
    assert "Traceback" not in output and output.count("error:") == 1
    assert not out.exists()
    assert not [p for p in d.iterdir() if p.name.startswith(".out.scaffold-")]


@pytest.mark.parametrize("name, fragment", [
    ("", "empty"), ("class/x", "path separator"), ("9lives", "starts with a digit"), ("zébra", "not ASCII"),
    ("../up", "path separator"),
])
def test_invalid_project_names(bad_models, name, fragment):
    d, good = bad_models
    code, output = _invoke("new", name, "--model", str(good), "--output", str(d / "out"))
    assert code == 2 and fragment in output and "Traceback" not in output


def test_unsupported_output_and_untraceable_models(tmp_path):
    code, output = _invoke("new", "demo", "--model", _write_factory(tmp_path, "DictOut"), "--output", str(tmp_path / "o"))
    assert code == 2 and "returns a dict with keys y; pass --output-key" in output
    code, output = _invoke("new", "demo", "--model", _write_factory(tmp_path, "Untraceable"), "--input-size", "8x8",
                           "--output", str(tmp_path / "o"))
    assert code == 3 and "cannot trace the model" in output and "nor script it" in output
    assert not (tmp_path / "o").exists()


def test_real_process_prints_no_traceback(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    proc = run_cli("new", "demo", "--model", str(tmp_path / "junk.pt"), "--output", str(tmp_path / "o"))
    assert proc.returncode == 3
    # Progress lines start with "- "; the failure itself is exactly one line.
    problems = [line for line in proc.stderr.splitlines() if not line.startswith("- ")]
    assert len(problems) == 1 and problems[0].startswith("error: ") and "Traceback" not in proc.stderr


def test_existing_output_is_refused_even_with_force_unless_scaffold_made_it(tmp_path, ts_model):
    model = ts_model("classification")
    out = tmp_path / "proj"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    for extra in ([], ["--force"]):
        code, output = _invoke("new", "demo", "--model", str(model), "--output", str(out), "--input-size", "16x16",
                               "--platforms", "android", *extra)
        assert code == 5 and "--force" in output and (out / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classification.pt", "proj"]


def test_force_refuses_the_current_directory(tmp_path, ts_model, monkeypatch):
    model = ts_model("classification")
    (tmp_path / "x.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    code, output = _invoke("new", "demo", "--model", str(model), "--output", ".", "--force")
    assert code == 5 and "current directory" in output and (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("kind", ["classification", "image-to-image", "segmentation"])
def test_generated_project_layout_and_record(tmp_path, ts_model, kind):
    result = new_project(name="demo", model=ts_model(kind), output=tmp_path / "demo", input_size="16x16")
    root = result.output
    config, meta, model = record.load(root)
    assert meta.task == kind and config.package == "com.example.demo"
    assert (root / "android/app/src/main/assets/model.ptl").read_bytes() == (root / "ios/Demo/Resources/model.ptl").read_bytes()
    assert (root / "export/model_ops.yaml").is_file() and "max abs error" in (root / "export/report.md").read_text()
    with zipfile.ZipFile(root / "android/app/src/main/assets/model.ptl") as zf:
        assert "model/extra/scaffold.json" in zf.namelist()


def test_same_inputs_give_a_byte_identical_tree(tmp_path, ts_model):
    model = ts_model("image-to-image")
    for where in ("a", "b"):
        proc = run_cli("new", "demo", "--model", str(model), "--input-size", "16x16", "--output", str(tmp_path / where / "demo"))
        assert proc.returncode == 0, proc.stderr
    first, second = tree_bytes(tmp_path / "a" / "demo"), tree_bytes(tmp_path / "b" / "demo")
    assert sorted(first) == sorted(second)
    differing = [k for k in first if first[k] != second[k]]
    assert not differing, differing


def test_every_path_in_the_notes_is_the_final_one(tmp_path, ts_model, monkeypatch):
    # No Gradle anywhere: the note tells where to finish the wrapper, which must be the renamed
    # output directory, not the staging directory it was written in.
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not os.path.exists(os.path.join(p, "gradle"))))
    monkeypatch.setenv("GRADLE_USER_HOME", str(tmp_path / "no-gradle-home"))
    result = new_project(name="demo", model=ts_model("classification"), output=tmp_path / "out" / "demo", input_size="16x16")
    notes = " ".join(result.notes)
    assert "Gradle wrapper: only gradle/wrapper/gradle-wrapper.properties" in notes
    assert ".scaffold-" not in notes
    assert str(tmp_path / "out" / "demo" / "android") in notes and (tmp_path / "out" / "demo" / "android").is_dir()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["demo"]
