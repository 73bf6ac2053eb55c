import shutil
import zipfile

import pytest

from generator import gradle, versions
from generator.tools import Gradle

needs_gradle = pytest.mark.skipif(shutil.which("gradle") is None, reason="Debian gradle not installed (make test installs it)")


def test_properties_pin_version_and_checksum():
    text = gradle.properties_text()
    assert f"gradle-{versions.GRADLE}-bin.zip" in text
    assert f"distributionSha256Sum={versions.GRADLE_DISTRIBUTION_SHA256}" in text
    assert len(versions.GRADLE_DISTRIBUTION_SHA256) == 64


def test_without_gradle_everything_else_is_written_and_the_fix_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADLE_USER_HOME", str(tmp_path / "nohome"))
    result = gradle.stamp(tmp_path, Gradle(tmp_path / "no-such-gradle"), use_path=False)
    assert not result.stamped and "\n" not in result.hint and f"--gradle-version {versions.GRADLE}" in result.hint
    assert (tmp_path / gradle.PROPERTIES).read_text() == gradle.properties_text()
    assert not (tmp_path / "gradlew").exists()


@needs_gradle
def test_stamping_with_the_machines_gradle(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = tmp_path / "a"
    first.mkdir()
    result = gradle.stamp(first)
    assert result.stamped, result.hint
    assert (first / "gradlew").stat().st_mode & 0o111
    assert (first / "gradlew.bat").read_text().lower().count("gradle") > 0
    with zipfile.ZipFile(first / "gradle/wrapper/gradle-wrapper.jar") as jar:
        assert "org/gradle/wrapper/GradleWrapperMain.class" in jar.namelist()
    assert (first / gradle.PROPERTIES).read_text() == gradle.properties_text()
    # The second stamp comes from the cache and is byte-identical.
    second = tmp_path / "b"
    second.mkdir()
    gradle.stamp(second)
    for rel in (*gradle.WRAPPER_FILES, gradle.PROPERTIES):
        assert (first / rel).read_bytes() == (second / rel).read_bytes()


def test_gradle_found_in_user_home_when_not_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    home = tmp_path / "gh"
    for version in ("8.9", "8.13"):
        exe = home / f"wrapper/dists/gradle-{version}-bin/abc/gradle-{version}/bin/gradle"
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\n")
    monkeypatch.setenv("GRADLE_USER_HOME", str(home))
    found = gradle.find_gradle()
    assert found is not None and "gradle-8.13" in found.find()
