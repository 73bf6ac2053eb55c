"""`scaffold check` from outside: what --skip-native and --no-exec leave out, and that they say so."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import build, run_cli, save_torchscript
from generator.tools import Java, Javac, JUnit4

WIDE = {"COLUMNS": "250"}  # rich wraps table cells to the terminal width


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    model = save_torchscript(build("classification"), root / "model.pt")
    proc = run_cli("new", "demo", "--model", str(model), "--output", str(root / "demo"), "--input-size", "16x16")
    assert proc.returncode == 0, proc.stderr
    return root / "demo"


def rows(stdout: str) -> dict[str, str]:
    """check name -> status, from the printed table."""
    found = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)]
        if len(cells) >= 5 and cells[3] in ("pass", "fail", "skip"):
            found[f"{cells[1]}: {cells[2]}"] = cells[3]
    return found


@pytest.mark.parametrize("artifact", ["ios/DemoTests/Resources/expected_output.bin", "ios/Demo/Resources/sample.png"])
def test_skip_native_still_compares_the_ios_copies(tmp_path, project, artifact):
    copy = shutil.copytree(project, tmp_path / "demo")
    data = bytearray((copy / artifact).read_bytes())
    data[-1] ^= 0xFF
    (copy / artifact).write_bytes(bytes(data))
    proc = run_cli("check", str(copy), "--skip-native", "--skip-host-tests", env=WIDE)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    table = rows(proc.stdout)
    name = artifact.rsplit("/", 1)[1]
    assert table[f"model: same {name} in every platform"] == "fail", table
    assert table["ios: C++ core reproduces the expected output (host LibTorch)"] == "skip"
    assert table["android: host unit tests (javac + JUnit 4)"] == "skip"


def test_no_exec_runs_none_of_the_projects_code(tmp_path, project):
    if not all(t.available() for t in (Javac(), Java(), JUnit4())):
        pytest.skip("javac, java and junit4 are needed to show that a plain check runs the project's tests")
    copy = shutil.copytree(project, tmp_path / "demo")
    marker = tmp_path / "ran"
    test_java = next((copy / "android/app/src/test/java").rglob("ModelSpecTest.java"))
    source = test_java.read_text()
    # What a hostile project could do: any code in a test runs when the tests run.
    hostile = (f'    static {{ try {{ new java.io.File("{marker}").createNewFile(); }} '
               'catch (java.io.IOException e) { throw new RuntimeException(e); } }\n')
    test_java.write_text(re.sub(r"(public class ModelSpecTest \{\n)", r"\g<1>" + hostile.replace("\\", "\\\\"), source, count=1))
    assert hostile in test_java.read_text()

    proc = run_cli("check", str(copy), "--no-exec", env=WIDE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not marker.exists()
    table = rows(proc.stdout)
    assert table["android: host unit tests (javac + JUnit 4)"] == "skip"
    assert table["ios: C++ core reproduces the expected output (host LibTorch)"] == "skip"
    assert table["model: asset reproduces the expected output"] == "pass"
    assert "--no-exec" in proc.stdout

    proc = run_cli("check", str(copy), "--skip-native", env=WIDE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert marker.exists(), "the plain check should have run the project's JUnit tests"


def test_help_says_check_runs_the_projects_code():
    proc = run_cli("check", "--help", env=WIDE)
    text = " ".join(proc.stdout.split())
    assert "runs its authors' code" in text and "--no-exec" in text
