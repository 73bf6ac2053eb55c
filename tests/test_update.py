"""`scaffold update`: retrained model swapped everywhere, the user's edits kept or marked, all-or-nothing."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import signal
import tomllib
from pathlib import Path

import pytest
import torch

from conftest import build, edit, run_cli, save_torchscript, start_cli, tree_bytes
from generator import __version__, record, update
from generator.errors import OutputExistsError, OutputWriteError, ToolMissingError, UsageError
from generator.metadata import Metadata
from generator.project import check_project, new_project

MAIN = "android/app/src/main/java/com/example/demo/MainActivity.java"
VIEW = "ios/Demo/ContentView.swift"
MODEL_COPIES = ("android/app/src/main/assets/model.ptl", "ios/Demo/Resources/model.ptl")


def _retrained(path: Path, classes: int = 5) -> Path:
    """The same architecture with other weights, as after a day of training."""
    torch.manual_seed(1)
    model = build("classification") if classes == 5 else __import__("conftest").TinyClassifier(classes).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return save_torchscript(model, path)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One project and one retrained model for the whole module (exports are the slow part)."""
    where = tmp_path_factory.mktemp("gen")
    original = save_torchscript(build("classification"), where / "model.pt")
    new_project(name="demo", model=original, output=where / "demo", input_size="16x16", find_gradle=False)
    return where / "demo", _retrained(where / "retrained.pt")


@pytest.fixture
def project(generated, tmp_path):
    source, retrained = generated
    shutil.copytree(source, tmp_path / "demo", symlinks=True)
    return tmp_path / "demo", retrained


def _pretend_template_changed(root: Path, rel: str, old_line: str, older: str) -> None:
    """Make the kept base say scaffold rendered `older` instead of `old_line` last time, as if a
    template fix had changed that line since; the user's file has the old line too unless edited."""
    base = root / update.BASE_DIR / rel
    edit(base, old_line, older)
    edit(root / rel, old_line, older)
    manifest = json.loads((root / update.MANIFEST).read_text())
    manifest["rendered"][rel] = hashlib.sha256(base.read_bytes()).hexdigest()
    (root / update.MANIFEST).write_text(json.dumps(manifest))


def _one_error_line(stderr: str) -> bool:
    return "Traceback" not in stderr and [line.startswith("error:") for line in stderr.splitlines()].count(True) == 1


def _snapshot(root: Path) -> dict:
    """Bytes and modes of every file, and the names beside DIR (no staging directory left)."""
    return {"tree": tree_bytes(root), "beside": sorted(p.name for p in root.parent.iterdir())}


def test_new_keeps_the_base_and_the_options(project):
    root, _ = project
    manifest = json.loads((root / update.MANIFEST).read_text())
    assert MAIN in manifest["rendered"] and VIEW in manifest["rendered"]
    assert all(m in manifest["derived"] for m in MODEL_COPIES)
    assert (root / update.BASE_DIR / MAIN).read_bytes() == (root / MAIN).read_bytes()
    assert not any(rel.startswith(update.STATE_DIR) for rel in manifest["rendered"])
    doc = tomllib.loads((root / record.FILE_NAME).read_text())
    assert doc["options"]["input_size"] == "16x16" and "model" not in doc["options"] and "trust_pickle" not in doc["options"]


def test_retrained_model_swapped_everywhere_edits_kept_and_check_passes(project):
    root, retrained = project
    edit(root / MAIN, "import android.os.Bundle;", "import android.os.Bundle;\n// my Android edit")
    edit(root / VIEW, "import SwiftUI", "import SwiftUI\n// my iOS edit")
    old_model = (root / MODEL_COPIES[0]).read_bytes()
    old_expected = (root / "ios/DemoTests/Resources/expected_output.bin").read_bytes()
    proc = run_cli("update", str(root), "--model", str(retrained))
    assert proc.returncode == 0, proc.stderr
    assert "your edits kept: " + MAIN in proc.stdout and "your edits kept: " + VIEW in proc.stdout
    assert "// my Android edit" in (root / MAIN).read_text() and "// my iOS edit" in (root / VIEW).read_text()
    models = {(root / m).read_bytes() for m in MODEL_COPIES}
    assert len(models) == 1 and old_model not in models
    assert (root / "ios/DemoTests/Resources/expected_output.bin").read_bytes() != old_expected
    _, _, model = record.load(root)
    assert model["sha256"] == hashlib.sha256(retrained.read_bytes()).hexdigest()
    report = check_project(root, run_native=False)
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    # The edited files are the new base's "ours": a second update with the same model changes nothing.
    before = tree_bytes(root)
    proc = run_cli("update", str(root), "--model", str(retrained))
    assert proc.returncode == 0, proc.stderr
    assert tree_bytes(root) == before


def test_template_fix_merges_with_an_edit_elsewhere(project):
    root, _ = project
    _pretend_template_changed(root, MAIN, "private static final String TAG", "private static final String OLD_TAG")
    edit(root / MAIN, "import android.os.Bundle;", "import android.os.Bundle;\n// my Android edit")
    proc = run_cli("update", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "merged with your edits: " + MAIN in proc.stdout
    text = (root / MAIN).read_text()
    assert "// my Android edit" in text and "OLD_TAG" not in text and "private static final String TAG" in text
    assert (root / update.BASE_DIR / MAIN).read_text().count("OLD_TAG") == 0  # the new base is the new render


def test_unedited_file_takes_the_template_fix(project):
    root, _ = project
    _pretend_template_changed(root, VIEW, "import SwiftUI", "import SwiftUI // old")
    proc = run_cli("update", str(root))
    assert proc.returncode == 0, proc.stderr
    assert "updated: " + VIEW in proc.stdout and "// old" not in (root / VIEW).read_text()


def test_conflicting_edit_gets_markers_is_listed_and_exits_9(project):
    root, retrained = project
    _pretend_template_changed(root, MAIN, "private static final String TAG", "private static final String OLD_TAG")
    edit(root / MAIN, "private static final String OLD_TAG", "private static final String MY_TAG")
    proc = run_cli("update", str(root), "--model", str(retrained))
    assert proc.returncode == 9, proc.stderr
    assert "CONFLICTS (markers written, resolve them): " + MAIN in proc.stdout
    text = (root / MAIN).read_text()
    assert "<<<<<<< yours" in text and "MY_TAG" in text and ">>>>>>> scaffold " + __version__ in text
    assert (root / MODEL_COPIES[1]).read_bytes() == (root / MODEL_COPIES[0]).read_bytes()


def test_deleted_files_stay_deleted_and_added_files_are_untouched(project):
    root, retrained = project
    (root / VIEW).unlink()
    (root / "android/app/src/main/java/com/example/demo/Mine.java").write_text("class Mine {}\n")
    (root / "notes.txt").write_text("mine\n")
    proc = run_cli("update", str(root), "--model", str(retrained))
    assert proc.returncode == 0, proc.stderr
    assert "you deleted them, left deleted: " + VIEW in proc.stdout
    assert not (root / VIEW).exists()
    assert (root / "notes.txt").read_text() == "mine\n"
    assert (root / "android/app/src/main/java/com/example/demo/Mine.java").read_text() == "class Mine {}\n"


def test_no_model_on_an_up_to_date_project_changes_nothing(project):
    root, _ = project
    before = tree_bytes(root)
    proc = run_cli("update", str(root))
    assert proc.returncode == 0, proc.stderr
    assert tree_bytes(root) == before


def test_failed_export_leaves_the_project_byte_identical(project, tmp_path):
    root, _ = project
    edit(root / MAIN, "import android.os.Bundle;", "import android.os.Bundle;\n// my Android edit")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a model")
    before = _snapshot(root)
    proc = run_cli("update", str(root), "--model", str(broken))
    assert proc.returncode == 3 and _one_error_line(proc.stderr), proc.stderr
    assert _snapshot(root) == before


def test_a_bad_model_option_changes_nothing(project):
    root, retrained = project
    before = _snapshot(root)
    proc = run_cli("update", str(root), "--model", str(retrained), "--input-size", "0x16")
    assert proc.returncode == 2, proc.stderr
    assert _snapshot(root) == before


def test_full_disk_while_merging_leaves_the_project_byte_identical(project, monkeypatch):
    root, retrained = project
    before = _snapshot(root)

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(root / MAIN))

    monkeypatch.setattr(update, "_copy_file", full)  # the first model-derived file written
    with pytest.raises(OutputWriteError, match="No space left on device.*left unchanged"):
        update.update_project(root, model=retrained, find_gradle=False)
    assert _snapshot(root) == before


def test_sigterm_during_the_update_leaves_the_project_byte_identical(project):
    root, retrained = project
    before = _snapshot(root)
    proc = start_cli("update", str(root), "--model", str(retrained))
    for line in proc.stderr:  # the progress lines: signal once the export has started
        if "running the model" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the update finished before the signal arrived on this machine")
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert _snapshot(root) == before


@pytest.mark.parametrize("damage, fragment", [
    (lambda root: (root / record.FILE_NAME).unlink(), "is not a scaffold project"),
    (lambda root: edit(root / record.FILE_NAME, f'version = "{__version__}"', 'version = "99.0"'), "newer than this scaffold"),
])
def test_refuses_with_one_line_and_changes_nothing(project, damage, fragment):
    root, retrained = project
    damage(root)
    before = _snapshot(root)
    proc = run_cli("update", str(root), "--model", str(retrained))
    assert proc.returncode == 2 and fragment in proc.stderr and _one_error_line(proc.stderr), proc.stderr
    assert _snapshot(root) == before


def test_refuses_from_inside_the_project(project):
    root, _ = project
    with pytest.raises(UsageError, match="current directory"):
        import os

        cwd = os.getcwd()
        os.chdir(root)
        try:
            update.update_project(Path("."))
        finally:
            os.chdir(cwd)


def test_model_options_need_a_model(project):
    root, _ = project
    with pytest.raises(UsageError, match="--task is an option of the model"):
        update.update_project(root, overrides={"task": "classification"})


def test_metadata_changes_name_what_the_app_cares_about():
    old = Metadata("classification", 16, 16, (0.5,) * 3, (0.5,) * 3, (1, 5), None, tuple("abcde"))
    new = Metadata("classification", 32, 32, (0.5,) * 3, (0.5,) * 3, (1, 3), None, tuple("xyz"))
    changes = update.metadata_changes(old, new)
    assert "input size: 16x16 -> 32x32" in changes
    assert "labels: 5 (a, b, c, d, e) -> 3 (x, y, z)" in changes
    assert any(c.startswith("output shape") for c in changes) and not any(c.startswith("task") for c in changes)


def test_labels_given_to_new_are_reused(tmp_path):
    model = save_torchscript(build("classification"), tmp_path / "m.pt")
    (tmp_path / "labels.txt").write_text("".join(f"kind {i}\n" for i in range(5)))
    new_project(name="demo", model=model, output=tmp_path / "demo", input_size="16x16", labels=tmp_path / "labels.txt",
                find_gradle=False)
    (tmp_path / "labels.txt").unlink()  # the file need not outlive the project
    update.update_project(tmp_path / "demo", model=_retrained(tmp_path / "r.pt"), find_gradle=False)
    assert record.load(tmp_path / "demo")[1].labels == tuple(f"kind {i}" for i in range(5))


def test_retrained_with_other_classes_shows_the_metadata_change(project, tmp_path):
    root, _ = project
    other = _retrained(tmp_path / "three.pt", classes=3)
    proc = run_cli("update", str(root), "--model", str(other))
    assert proc.returncode == 0, proc.stderr
    assert "metadata changed: output shape: [1, 5] -> [1, 3]" in proc.stdout
    assert check_project(root, run_native=False, run_host_tests=False).ok


def test_without_git_the_update_says_how_to_get_it(project, monkeypatch, tmp_path):
    root, retrained = project
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    before = _snapshot(root)
    with pytest.raises(ToolMissingError, match="git not found .*install git"):
        update.update_project(root, model=retrained)
    assert _snapshot(root) == before


def test_a_project_changed_during_the_update_is_left_alone(project, monkeypatch):
    root, retrained = project
    compose = update._compose

    def user_saves_a_file(*args, **kwargs):
        result = compose(*args, **kwargs)
        (root / MAIN).write_text("saved while scaffold ran\n")
        return result

    monkeypatch.setattr(update, "_compose", user_saves_a_file)
    with pytest.raises(OutputExistsError, match="changed while scaffold updated it"):
        update.update_project(root, model=retrained, find_gradle=False)
    assert (root / MAIN).read_text() == "saved while scaffold ran\n"
    assert not [p.name for p in root.parent.iterdir() if p.name.startswith(".scaffold-")]
