"""Stamping the Gradle wrapper into a generated Android project, without downloading anything.

The properties file is written here, not by Gradle, so it is the same on every machine and
always carries distributionSha256Sum; Android Studio needs nothing more. The scripts and jar are
copied only from an official stamping: `gradle wrapper` writes the jar and scripts of the Gradle
that runs it, CI (gradle/actions/setup-gradle) rejects any jar that is not one Gradle published,
and Debian's gradle package writes its own rebuild of 4.4.1's. So a stamping counts only when its
jar is the pinned release's official one, which in practice means a Gradle <GRADLE> distribution
already unpacked under the Gradle user home (Android Studio leaves them there) or on PATH.
Otherwise the generated workflow creates the wrapper with an official Gradle before using it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator import versions
from generator.errors import ToolMissingError
from generator.tools import Gradle

JAR = "gradle/wrapper/gradle-wrapper.jar"
WRAPPER_FILES = ("gradlew", "gradlew.bat", JAR)
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
    """A distribution of the pinned Gradle unpacked by some wrapper on this machine, else Gradle on
    PATH, else the newest unpacked distribution."""
    candidates = find_gradles()
    return candidates[0] if candidates else None


def find_gradles() -> list[Gradle]:
    """Every Gradle worth trying, best first (see find_gradle)."""
    dists = gradle_user_home() / "wrapper" / "dists"
    unpacked = sorted(dists.glob("gradle-*/*/gradle-*/bin/gradle"), key=lambda p: _version_key(p.parent.parent.name), reverse=True)
    pinned = [p for p in unpacked if p.parent.parent.name == f"gradle-{versions.GRADLE}"]
    found = [Gradle(p) for p in pinned]
    on_path = Gradle()
    if on_path.available():
        found.append(on_path)
    found += [Gradle(p) for p in unpacked if p not in pinned]
    return found


def jar_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def official_jar_release(path: Path) -> str | None:
    """The Gradle releases whose official wrapper jar this is, or None for any other jar."""
    return versions.OFFICIAL_WRAPPER_JARS.get(jar_sha256(path))


@dataclass
class WrapperResult:
    stamped: bool
    stamped_with: str | None  # the Gradle executable used
    hint: str | None  # one line telling how to complete it when not stamped
    note: str = ""  # one line for the summary: which case happened


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


def stamp(android_dir: Path, gradle: Gradle | None = None, *, use_path: bool = True,
          shown_as: Path | None = None) -> WrapperResult:
    """Write the wrapper into android_dir when an official Gradle <GRADLE> stamps it; else only the
    properties, and say how to finish. shown_as: where android_dir will be when the user reads the
    message (it may be written in a staging directory)."""
    (android_dir / PROPERTIES).parent.mkdir(parents=True, exist_ok=True)
    (android_dir / PROPERTIES).write_text(properties_text())
    os.chmod(android_dir / PROPERTIES, 0o644)
    shown = shown_as if shown_as is not None else android_dir
    candidates = [gradle] if gradle is not None else (find_gradles() if use_path else [])
    rejected: list[str] = []
    for candidate in (c for c in candidates if c.available()):
        try:
            source = wrapper_files(candidate)
        except (ToolMissingError, subprocess.TimeoutExpired, OSError) as exc:
            rejected.append(f"{candidate.find()} failed ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
            continue
        jar = source / JAR
        if jar_sha256(jar) != versions.GRADLE_WRAPPER_JAR_SHA256:
            release = official_jar_release(jar)
            rejected.append(f"{candidate.find()} writes " + (f"Gradle {release}'s wrapper" if release else "an unofficial wrapper jar"))
            continue
        for rel in WRAPPER_FILES:
            (android_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, android_dir / rel)
            os.chmod(android_dir / rel, 0o755 if rel == "gradlew" else 0o644)
        note = f"Gradle wrapper: official Gradle {versions.GRADLE} wrapper (jar sha256 verified) stamped by {candidate.find()}"
        return WrapperResult(True, str(candidate.find()), None, note)
    why = "; ".join(rejected) if rejected else "no Gradle found on this machine"
    hint = (
        f"Gradle wrapper: only gradle/wrapper/gradle-wrapper.properties written ({why}); Android Studio opens "
        f"{shown} as it is and the generated CI creates the wrapper; for command-line builds run "
        f"`gradle wrapper --gradle-version {versions.GRADLE}` there with an official Gradle"
    )
    return WrapperResult(False, None, hint, hint)
