"""Stamping the Gradle wrapper into a generated Android project, without downloading anything.

`gradle wrapper` of any Gradle version writes a wrapper that fetches the pinned distribution on
first use, so a Gradle found on the machine (on PATH, or a distribution already unpacked under
the Gradle user home) is enough. The properties file is written here, not by Gradle, so it is
the same on every machine and always carries distributionSha256Sum.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator import versions
from generator.errors import ToolMissingError
from generator.tools import Gradle

WRAPPER_FILES = ("gradlew", "gradlew.bat", "gradle/wrapper/gradle-wrapper.jar")
PROPERTIES = "gradle/wrapper/gradle-wrapper.properties"


def properties_text(version: str = versions.GRADLE, sha256: str = versions.GRADLE_DISTRIBUTION_SHA256) -> str:
    return (
        "distributionBase=GRADLE_USER_HOME\n"
        "distributionPath=wrapper/dists\n"
        f"distributionSha256Sum={sha256}\n"
        f"distributionUrl=https\\://services.gradle.org/distributions/gradle-{version}-bin.zip\n"
        "networkTimeout=10000\n"
        "validateDistributionUrl=true\n"
        "zipStoreBase=GRADLE_USER_HOME\n"
        "zipStorePath=wrapper/dists\n"
    )


def gradle_user_home() -> Path:
    return Path(os.environ.get("GRADLE_USER_HOME") or Path.home() / ".gradle")


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def find_gradle() -> Gradle | None:
    """Gradle on PATH, else the newest distribution unpacked by some wrapper on this machine."""
    on_path = Gradle()
    if on_path.available():
        return on_path
    dists = gradle_user_home() / "wrapper" / "dists"
    candidates = sorted(dists.glob("gradle-*/*/gradle-*/bin/gradle"), key=lambda p: _version_key(p.parent.parent.name))
    return Gradle(candidates[-1]) if candidates else None


@dataclass
class WrapperResult:
    stamped: bool
    stamped_with: str | None  # the Gradle executable used
    hint: str | None  # one line telling how to complete it when not stamped


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaffold" / "gradle-wrapper"


def _stamp_into(gradle: Gradle, dest: Path) -> None:
    # An empty build: the project's own Kotlin DSL needs a newer Gradle than may be stamping.
    with tempfile.TemporaryDirectory(prefix="scaffold-wrapper-") as tmp:
        work = Path(tmp)
        (work / "settings.gradle").write_text("")
        env = dict(os.environ)
        result = gradle.run(
            ["--no-daemon", "--quiet", "--project-cache-dir", str(work / ".gradle-cache"), "wrapper",
             "--gradle-version", versions.GRADLE, "--distribution-type", "bin"],
            cwd=work,
            env=env,
            timeout=300,
        )
        missing = [f for f in WRAPPER_FILES if not (work / f).is_file()]
        if result.returncode != 0 or missing:
            last = result.output.splitlines()[-1] if result.output else f"exit {result.returncode}"
            raise ToolMissingError(f"gradle wrapper failed ({last}); run `gradle wrapper --gradle-version {versions.GRADLE}` in the android directory")
        for rel in WRAPPER_FILES:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / rel, dest / rel)


def wrapper_files(gradle: Gradle) -> Path:
    """A directory holding the stamped wrapper files, cached per Gradle executable.

    Stamping starts a JVM (seconds); the result depends only on the stamping Gradle and the
    pinned version, so it is reused.
    """
    exe = Path(gradle.verify()).resolve()
    stat = exe.stat()
    key = hashlib.sha256(f"{exe}|{stat.st_size}|{stat.st_mtime_ns}|{versions.GRADLE}".encode()).hexdigest()[:16]
    cached = _cache_dir() / key
    if all((cached / f).is_file() for f in WRAPPER_FILES):
        return cached
    staging = Path(tempfile.mkdtemp(prefix="stage-", dir=_ensure(_cache_dir())))
    try:
        _stamp_into(gradle, staging)
        if cached.exists():
            shutil.rmtree(cached)
        staging.rename(cached)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return cached


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def stamp(android_dir: Path, gradle: Gradle | None = None, *, use_path: bool = True) -> WrapperResult:
    """Write the wrapper into android_dir. Without a Gradle, write the properties and say how to finish."""
    (android_dir / PROPERTIES).parent.mkdir(parents=True, exist_ok=True)
    (android_dir / PROPERTIES).write_text(properties_text())
    os.chmod(android_dir / PROPERTIES, 0o644)
    if gradle is None and use_path:
        gradle = find_gradle()
    if gradle is None or not gradle.available():
        hint = (
            f"Gradle wrapper scripts not written: no Gradle found on this machine; run "
            f"`gradle wrapper --gradle-version {versions.GRADLE}` in {android_dir} (or open it in Android Studio)"
        )
        return WrapperResult(False, None, hint)
    source = wrapper_files(gradle)
    for rel in WRAPPER_FILES:
        (android_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, android_dir / rel)
        os.chmod(android_dir / rel, 0o755 if rel == "gradlew" else 0o644)
    return WrapperResult(True, str(gradle.find()), None)
