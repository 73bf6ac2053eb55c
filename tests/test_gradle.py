import hashlib
import shutil
import subprocess

import pytest

from generator import gradle, versions
from generator.tools import Gradle

needs_gradle = pytest.mark.skipif(shutil.which("gradle") is None, reason="Debian gradle not installed (make test installs it)")


def test_properties_pin_version_and_checksum():
    text = gradle.properties_text()
    assert f"gradle-{versions.GRADLE}-bin.zip" in text
    assert f"distributionSha256Sum={versions.GRADLE_DISTRIBUTION_SHA256}" in text
    assert len(versions.GRADLE_DISTRIBUTION_SHA256) == 64


def fake_gradle(tmp_path, jar: bytes, name: str = "gradle"):
    """A stand-in `gradle` that writes a wrapper whose jar holds the given bytes."""
    exe = tmp_path / "fake" / name
    exe.parent.mkdir(parents=True, exist_ok=True)
    (exe.parent / "jar.bin").write_bytes(jar)
    exe.write_text(
        "#!/bin/sh\n"
        "mkdir -p gradle/wrapper\n"
        "printf '#!/bin/sh\\necho fake\\n' > gradlew\n"
        "printf 'rem fake gradle\\r\\n' > gradlew.bat\n"
        f"cp {exe.parent / 'jar.bin'} gradle/wrapper/gradle-wrapper.jar\n"
    )
    exe.chmod(0o755)
    return Gradle(exe)


def pretend_official(monkeypatch, jar: bytes) -> None:
    """Make `jar` the pinned release's official jar, as a real Gradle 8.13 would write it."""
    digest = hashlib.sha256(jar).hexdigest()
    monkeypatch.setattr(versions, "GRADLE_WRAPPER_JAR_SHA256", digest)
    monkeypatch.setattr(versions, "OFFICIAL_WRAPPER_JARS", {digest: versions.GRADLE})


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_pinned_checksums_are_in_the_official_list():
    assert versions.OFFICIAL_WRAPPER_JARS[versions.GRADLE_WRAPPER_JAR_SHA256] == versions.GRADLE
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in versions.OFFICIAL_WRAPPER_JARS)


def test_without_gradle_only_the_properties_are_written_and_the_fix_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADLE_USER_HOME", str(tmp_path / "nohome"))
    result = gradle.stamp(tmp_path, Gradle(tmp_path / "no-such-gradle"), use_path=False)
    assert not result.stamped and "\n" not in result.hint and f"--gradle-version {versions.GRADLE}" in result.hint
    assert result.note == result.hint and "no Gradle found" in result.hint
    assert (tmp_path / gradle.PROPERTIES).read_text() == gradle.properties_text()
    assert not any((tmp_path / f).exists() for f in gradle.WRAPPER_FILES)


def test_an_official_stamping_is_copied_and_cached_byte_identical(tmp_path, monkeypatch):
    jar = b"PK official jar bytes"
    pretend_official(monkeypatch, jar)
    tool = fake_gradle(tmp_path, jar)
    first, second = tmp_path / "a", tmp_path / "b"
    result = gradle.stamp(first, tool)
    assert result.stamped and f"official Gradle {versions.GRADLE} wrapper" in result.note, result.note
    assert (first / "gradlew").stat().st_mode & 0o111
    assert (first / gradle.JAR).read_bytes() == jar
    gradle.stamp(second, tool)
    for rel in (*gradle.WRAPPER_FILES, gradle.PROPERTIES):
        assert (first / rel).read_bytes() == (second / rel).read_bytes()


def test_an_unofficial_jar_is_never_copied(tmp_path, monkeypatch):
    pretend_official(monkeypatch, b"the official one")
    result = gradle.stamp(tmp_path / "out", fake_gradle(tmp_path, b"a rebuilt jar"))
    assert not result.stamped and "unofficial wrapper jar" in result.hint
    assert not any((tmp_path / "out" / f).exists() for f in gradle.WRAPPER_FILES)
    assert (tmp_path / "out" / gradle.PROPERTIES).is_file()


def test_another_official_release_is_not_the_pinned_wrapper(tmp_path, monkeypatch):
    # An official jar of another release (say 8.9) comes with that release's scripts, not the pinned one's.
    pretend_official(monkeypatch, b"pinned")
    monkeypatch.setitem(versions.OFFICIAL_WRAPPER_JARS, hashlib.sha256(b"older").hexdigest(), "8.9")
    result = gradle.stamp(tmp_path / "out", fake_gradle(tmp_path, b"older"))
    assert not result.stamped and "Gradle 8.9's wrapper" in result.hint, result.hint


@needs_gradle
def test_debians_gradle_is_rejected(tmp_path):
    # Debian's gradle package writes its own rebuild of the 4.4.1 jar: CI's validation fails on it.
    result = gradle.stamp(tmp_path, Gradle(shutil.which("gradle")))
    assert not result.stamped and "unofficial wrapper jar" in result.hint, result.hint
    assert not (tmp_path / "gradlew").exists() and not (tmp_path / gradle.JAR).exists()


def test_a_pinned_distribution_in_the_user_home_comes_before_path(tmp_path, monkeypatch):
    path_dir = tmp_path / "bin"
    path_dir.mkdir()
    (path_dir / "gradle").write_text("#!/bin/sh\n")
    (path_dir / "gradle").chmod(0o755)
    monkeypatch.setenv("PATH", str(path_dir))
    home = tmp_path / "gh"
    for version in ("8.9", versions.GRADLE, "9.9"):
        exe = home / f"wrapper/dists/gradle-{version}-bin/abc/gradle-{version}/bin/gradle"
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\n")
    monkeypatch.setenv("GRADLE_USER_HOME", str(home))
    found = [g.find() for g in gradle.find_gradles()]
    assert f"gradle-{versions.GRADLE}/bin" in found[0]
    assert found[1] == str(path_dir / "gradle")
    assert "gradle-9.9" in found[2] and "gradle-8.9" in found[3]
    assert gradle.find_gradle().find() == found[0]


def test_a_gradle_that_fails_or_hangs_is_reported_not_raised(tmp_path, monkeypatch):
    broken = tmp_path / "broken" / "gradle"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\necho 'could not start' >&2\nexit 3\n")
    broken.chmod(0o755)
    result = gradle.stamp(tmp_path / "out", Gradle(broken))
    assert not result.stamped and "failed" in result.hint and "\n" not in result.hint

    def hang(*_a, **_k):
        raise subprocess.TimeoutExpired("gradle", 300)

    monkeypatch.setattr(Gradle, "run", hang)
    result = gradle.stamp(tmp_path / "out2", Gradle(broken))
    assert not result.stamped and "failed" in result.hint
