"""`scaffold build|run|test DIR`: thin wrappers over the platforms' own tools.

Each step prints the exact command before running it, so users learn the commands and can run
them without scaffold. Nothing here reimplements a build: Gradle (the project's wrapper), adb,
CocoaPods, xcodebuild and simctl do the work. `test` also runs what this machine can run when
those tools are missing (the host JUnit tests with javac, the C++ core with g++) and reports
every step it could not run, with why.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from generator import context as ctx, record, render
from generator.checks import CheckReport
from generator.errors import CommandFailedError, NoDeviceError, ToolMissingError, UsageError
from generator.tools import Adb, AndroidSdk, Gradlew, Pod, Tool, Xcodebuild, Xcrun

Echo = Callable[[str], None]
APK = "app/build/outputs/apk/debug/app-debug.apk"
DERIVED_DATA = "build"  # inside ios/: xcodebuild -derivedDataPath, so `run` knows where the .app is
_TAG = re.compile(r'static\s+final\s+String\s+TAG\s*=\s*"([^"\\]+)"')


@dataclass
class Step:
    platform: str
    name: str
    status: str  # pass | fail | not run
    detail: str = ""


@dataclass
class Outcome:
    steps: list[Step] = field(default_factory=list)

    def add(self, platform: str, name: str, status: str, detail: str = "") -> None:
        self.steps.append(Step(platform, name, status, detail))

    @property
    def failed(self) -> bool:
        return any(s.status == "fail" for s in self.steps)

    @property
    def incomplete(self) -> bool:
        return any(s.status == "not run" for s in self.steps)


@dataclass
class _Project:
    root: Path
    config: ctx.ProjectConfig
    context: dict
    echo: Echo

    def platform_dir(self, platform: str) -> Path:
        return self.root / render.section(platform)["output"]

    def run(self, tool: Tool, args: list[str], cwd: Path, shown: str, env: dict[str, str] | None = None) -> int:
        """Stream a command after printing it the way the user would type it."""
        where = os.path.relpath(cwd)
        self.echo(f"$ cd {shlex.quote(where)} && {shlex.join([shown, *args])}" if where != "." else f"$ {shlex.join([shown, *args])}")
        return tool.stream(args, cwd=cwd, env=env)

    def capture(self, tool: Tool, args: list[str], cwd: Path | None = None) -> str:
        self.echo(f"$ {shlex.join([tool.executable, *args])}")
        result = tool.run(args, cwd=cwd, timeout=120)
        if result.returncode != 0:
            raise CommandFailedError(f"`{shlex.join([tool.executable, *args])}` failed (exit {result.returncode}): "
                                     f"{' '.join(result.output.split())[:300]}")
        return result.stdout


def _load(directory: Path, platform: str | None, echo: Echo) -> tuple[_Project, tuple[str, ...]]:
    config, meta, _ = record.load(Path(directory))
    project = _Project(Path(directory), config, ctx.build(config, meta), echo)
    if platform is None:
        return project, config.platforms
    if platform not in ctx.PLATFORMS:
        raise UsageError(f"--platform {platform!r} is unknown; use android or ios")
    if platform not in config.platforms:
        raise UsageError(f"{directory} has no {platform} project (it has {', '.join(config.platforms)}); "
                         f"pass --platform {config.platforms[0]}")
    return project, (platform,)


def _require(ok: int, command: str) -> None:
    if ok != 0:
        raise CommandFailedError(f"`{command}` failed (exit {ok}); its output is above")


# ---- Android ------------------------------------------------------------------------------------

def _gradlew(p: _Project) -> Gradlew:
    root = p.platform_dir("android")
    gradlew = Gradlew(root)
    if not gradlew.available():
        raise ToolMissingError(f"{root / 'gradlew'} not found (the project has only gradle/wrapper/gradle-wrapper.properties: "
                               f"scaffold found no official Gradle to stamp the wrapper); {gradlew.install_hint}")
    if not (root / "local.properties").is_file():
        AndroidSdk().verify()  # Gradle reads the SDK from ANDROID_HOME or local.properties' sdk.dir
    return gradlew


def _android_build(p: _Project) -> None:
    _require(p.run(_gradlew(p), ["assembleDebug"], p.platform_dir("android"), "./gradlew"), "./gradlew assembleDebug")


def adb_devices(text: str) -> tuple[list[str], list[str]]:
    """`adb devices` output: (ready serials, 'serial (state)' of the others, e.g. unauthorized)."""
    ready, other = [], []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            (ready if parts[1] == "device" else other).append(parts[0] if parts[1] == "device" else f"{parts[0]} ({parts[1]})")
    return ready, other


def _pick_device(p: _Project, adb: Adb, wanted: str | None) -> str | None:
    ready, other = adb_devices(p.capture(adb, ["devices"]))
    p.echo(f"devices: {', '.join(ready + other) or 'none'}")
    if wanted is not None:
        if wanted not in ready:
            raise NoDeviceError(f"--device {wanted} is not a ready device (adb devices lists: {', '.join(ready + other) or 'none'}); "
                                "pass one of them")
        return wanted
    return ready[0] if ready else None


def _no_device(other: str = "") -> NoDeviceError:
    return NoDeviceError("no running emulator or connected device (adb devices lists none ready" + other + "); start one "
                         "(Android Studio's Device Manager, or `emulator -avd NAME`) or plug in a phone with USB debugging on")


def log_tags(android_root: Path) -> list[str]:
    """The log tags the app's Java code logs with (the user may have renamed or added some)."""
    tags = set()
    for path in sorted((android_root / "app/src/main/java").rglob("*.java")):
        tags.update(_TAG.findall(path.read_text(encoding="utf-8", errors="replace")))
    return sorted(tags) or ["MainActivity"]


def _android_run(p: _Project, device: str | None) -> None:
    root = p.platform_dir("android")
    adb = Adb()
    adb.verify()
    _android_build(p)
    serial = _pick_device(p, adb, device)
    if serial is None:
        raise _no_device()
    _require(p.run(adb, ["-s", serial, "install", "-r", APK], root, "adb"), f"adb -s {serial} install -r {APK}")
    out = p.capture(adb, ["-s", serial, "shell", "am", "start", "-n", f"{p.config.package}/.MainActivity"])
    if "Error" in out:  # am start reports a missing activity on stdout with exit 0
        raise CommandFailedError(f"the activity did not start: {' '.join(out.split())[:300]}")
    p.capture(adb, ["-s", serial, "logcat", "-c"])  # only this run's lines below
    p.echo("streaming the app's log (Ctrl-C stops it; the app keeps running)")
    p.run(adb, ["-s", serial, "logcat", "-s", *log_tags(root)], root, "adb")


def _android_test(p: _Project, outcome: Outcome, device: str | None) -> None:
    from generator import android

    root = p.platform_dir("android")
    try:
        gradlew: Gradlew | None = _gradlew(p)
        why = ""
    except ToolMissingError as exc:
        gradlew, why = None, str(exc)
    if gradlew is not None:
        code = p.run(gradlew, ["testDebugUnitTest"], root, "./gradlew")
        outcome.add("android", "host unit tests (./gradlew testDebugUnitTest)", "pass" if code == 0 else "fail",
                    f"exit {code}; reports in android/app/build/reports/tests")
    else:
        # The same JUnit tests over the plain-Java classes, without Gradle: what `scaffold check` runs.
        p.echo("no Gradle build here: running the host JUnit tests with javac + JUnit 4 instead")
        report = CheckReport()
        android.host_unit_tests(root, p.context, report)
        for c in report.checks:
            outcome.add("android", c.name, "not run" if c.status == "skip" else c.status, c.detail)
        outcome.add("android", "./gradlew testDebugUnitTest", "not run", why)
    adb = Adb()
    if not adb.available():
        outcome.add("android", "instrumentation tests (connectedDebugAndroidTest)", "not run",
                    f"adb not found; {adb.install_hint}")
        return
    serial = _pick_device(p, adb, device)
    if serial is None or gradlew is None:
        outcome.add("android", "instrumentation tests (connectedDebugAndroidTest)", "not run",
                    why if gradlew is None else "no running emulator or connected device (adb devices lists none ready)")
        return
    code = p.run(gradlew, ["connectedDebugAndroidTest"], root, "./gradlew", env={**os.environ, "ANDROID_SERIAL": serial})
    outcome.add("android", f"instrumentation tests on {serial} (./gradlew connectedDebugAndroidTest)",
                "pass" if code == 0 else "fail", f"exit {code}; reports in android/app/build/reports/androidTests")


# ---- iOS ----------------------------------------------------------------------------------------

@dataclass
class Simulator:
    udid: str
    name: str
    runtime: str
    state: str


def simulators(listing: str) -> list[Simulator]:
    """`xcrun simctl list devices available --json`, newest runtime first, booted first within it."""
    doc = json.loads(listing)
    found = []
    for runtime, devices in doc.get("devices", {}).items():
        for d in devices:
            if d.get("isAvailable", True):
                found.append(Simulator(d["udid"], d["name"], runtime.rsplit(".", 1)[-1], d.get("state", "")))

    def version(s: Simulator) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", s.runtime))

    return sorted(found, key=lambda s: (not s.runtime.startswith("iOS"), [-n for n in version(s)],
                                        s.state != "Booted", not s.name.startswith("iPhone"), s.name))


def _pick_simulator(p: _Project) -> Simulator:
    xcrun = Xcrun()
    xcrun.verify()
    try:
        found = simulators(p.capture(xcrun, ["simctl", "list", "devices", "available", "--json"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CommandFailedError(f"xcrun simctl list printed something unexpected ({exc}); run it yourself to see") from None
    p.echo("simulators: " + ("; ".join(f"{s.name} ({s.runtime}, {s.state})" for s in found) or "none"))
    iphones = [s for s in found if s.runtime.startswith("iOS")]
    if not iphones:
        raise NoDeviceError("no available iOS simulator; add one in Xcode (Settings > Platforms, then Window > "
                            "Devices and Simulators) and run again")
    p.echo(f"using {iphones[0].name} ({iphones[0].runtime}, {iphones[0].udid})")
    return iphones[0]


def _xcode_args(p: _Project, action: str, sim: Simulator) -> list[str]:
    ios = p.platform_dir("ios")
    product = p.config.product_name
    podfile = (ios / "Podfile").is_file()
    # LibTorch-Lite ships no arm64 simulator slice: its simulator build is x86_64 (Rosetta on Apple silicon).
    arch = ",arch=x86_64" if podfile else ""
    container = ["-workspace", f"{product}.xcworkspace"] if podfile else ["-project", f"{product}.xcodeproj"]
    return [action, *container, "-scheme", product, "-destination", f"platform=iOS Simulator,id={sim.udid}{arch}",
            "-derivedDataPath", DERIVED_DATA, "CODE_SIGNING_ALLOWED=NO"]


def _pods(p: _Project) -> None:
    ios = p.platform_dir("ios")
    if (ios / "Podfile").is_file():  # the lite runtime's LibTorch-Lite comes from CocoaPods
        pod = Pod()
        pod.verify()
        _require(p.run(pod, ["install"], ios, "pod"), "pod install")


def _ios_xcode(p: _Project, action: str) -> tuple[Simulator, int]:
    xcodebuild = Xcodebuild()
    xcodebuild.verify()
    _pods(p)
    sim = _pick_simulator(p)
    args = _xcode_args(p, action, sim)
    return sim, p.run(xcodebuild, args, p.platform_dir("ios"), "xcodebuild")


def _ios_build(p: _Project) -> Simulator:
    sim, code = _ios_xcode(p, "build")
    _require(code, "xcodebuild build")
    return sim


def _ios_run(p: _Project) -> None:
    sim = _ios_build(p)
    xcrun, ios = Xcrun(), p.platform_dir("ios")
    if sim.state != "Booted":
        _require(p.run(xcrun, ["simctl", "boot", sim.udid], ios, "xcrun"), f"xcrun simctl boot {sim.udid}")
    app = f"{DERIVED_DATA}/Build/Products/Debug-iphonesimulator/{p.config.product_name}.app"
    _require(p.run(xcrun, ["simctl", "install", sim.udid, app], ios, "xcrun"), f"xcrun simctl install {sim.udid} {app}")
    p.echo("launching; the app's output follows (Ctrl-C stops it). Open Simulator.app to see the screen.")
    _require(p.run(xcrun, ["simctl", "launch", "--console-pty", sim.udid, p.config.bundle_id], ios, "xcrun"),
             f"xcrun simctl launch {sim.udid} {p.config.bundle_id}")


def _ios_test(p: _Project, outcome: Outcome) -> None:
    missing = [t for t in (Xcodebuild(), Xcrun()) if not t.available()]
    if not missing:
        try:
            _, code = _ios_xcode(p, "test")
        except (ToolMissingError, NoDeviceError) as exc:
            outcome.add("ios", "unit tests on a simulator (xcodebuild test)", "not run", str(exc))
        else:
            outcome.add("ios", "unit tests on a simulator (xcodebuild test)", "pass" if code == 0 else "fail", f"exit {code}")
        return
    outcome.add("ios", "unit tests on a simulator (xcodebuild test)", "not run",
                "; ".join(f"{t.executable} not found ({t.install_hint})" for t in missing))
    # The model-running half of the app is the shared C++ core: build it here against the host LibTorch.
    from generator import native

    p.echo("no Xcode here: building the app's C++ core with g++ against the host LibTorch and running it on the sample")
    report = CheckReport()
    native.check_ios(p.root, p.context, report)
    for c in report.checks:
        outcome.add("ios", c.name, "not run" if c.status == "skip" else c.status, c.detail)


# ---- the commands -------------------------------------------------------------------------------

def build(directory: Path, *, platform: str | None = None, echo: Echo = print) -> list[str]:
    """Debug builds: ./gradlew assembleDebug; pod install + xcodebuild build for a simulator."""
    p, platforms = _load(directory, platform, echo)
    done = []
    for name in platforms:
        if name == "android":
            _android_build(p)
            done.append(f"android: android/{APK}")
        else:
            _ios_build(p)
            done.append(f"ios: ios/{DERIVED_DATA}/Build/Products/Debug-iphonesimulator/{p.config.product_name}.app")
    return done


def run(directory: Path, *, platform: str | None = None, device: str | None = None, echo: Echo = print) -> None:
    """Build, install and start the app on a device/emulator (android) or a simulator (ios)."""
    p, platforms = _load(directory, platform, echo)
    if len(platforms) > 1:
        raise UsageError(f"{directory} has android and ios projects; pass --platform android or --platform ios")
    if platforms[0] == "android":
        _android_run(p, device)
    else:
        if device is not None:
            raise UsageError("--device is for android; the iOS simulator is picked from `xcrun simctl list`")
        _ios_run(p)


def test(directory: Path, *, platform: str | None = None, device: str | None = None, echo: Echo = print) -> Outcome:
    """Every test the project has that this machine can run; the rest reported as not run."""
    p, platforms = _load(directory, platform, echo)
    outcome = Outcome()
    for name in platforms:
        try:
            if name == "android":
                _android_test(p, outcome, device)
            else:
                _ios_test(p, outcome)
        except CommandFailedError as exc:  # e.g. pod install failed: the rest of that platform cannot run
            outcome.add(name, "setup", "fail", str(exc))
    return outcome
