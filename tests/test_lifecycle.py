"""`scaffold build|run|test` against fake gradlew, adb, pod, xcodebuild and xcrun executables that
record their arguments and play back recorded outputs (these machines have no SDK or Xcode)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from conftest import build, run_cli, save_torchscript
from generator import lifecycle
from generator.project import new_project

FAKE = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": name, "args": args, "cwd": os.getcwd(),
                          "serial": os.environ.get("ANDROID_SERIAL")}}) + "\\n")
for rule in json.load(open(os.environ["FAKE_PLAY"])):
    if rule["tool"] == name and args[:len(rule["args"])] == rule["args"]:
        sys.stdout.write(rule.get("stdout", ""))
        sys.exit(rule.get("exit", 0))
"""

SIMCTL = json.dumps({"devices": {
    "com.apple.CoreSimulator.SimRuntime.iOS-16-4": [
        {"udid": "OLD-1", "name": "iPhone 14", "state": "Shutdown", "isAvailable": True}],
    "com.apple.CoreSimulator.SimRuntime.iOS-17-2": [
        {"udid": "IPAD-1", "name": "iPad Air", "state": "Shutdown", "isAvailable": True},
        {"udid": "NEW-1", "name": "iPhone 15", "state": "Shutdown", "isAvailable": True}],
    "com.apple.CoreSimulator.SimRuntime.watchOS-10-2": [
        {"udid": "W-1", "name": "Apple Watch", "state": "Shutdown", "isAvailable": True}],
}})
DEVICES = "List of devices attached\nemulator-5554\tdevice\nR58M\tunauthorized\n\n"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    where = tmp_path_factory.mktemp("gen")
    model = save_torchscript(build("classification"), where / "model.pt")
    new_project(name="demo", model=model, output=where / "demo", input_size="16x16", find_gradle=False)
    return where / "demo"


@pytest.fixture
def fakes(generated, tmp_path):
    """A copy of the project, a bin directory of fake tools, and a way to run the CLI with them."""
    root = tmp_path / "demo"
    shutil.copytree(generated, root)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, play = tmp_path / "calls.jsonl", tmp_path / "play.json"
    play.write_text("[]")
    sdk = tmp_path / "sdk"
    sdk.mkdir()

    class Fakes:
        project = root

        def install(self, *names: str, gradlew: bool = True) -> None:
            for name in names:
                _script(bin_dir / name)
            if gradlew:
                _script(root / "android" / "gradlew")

        def play(self, *rules: dict) -> None:
            play.write_text(json.dumps(list(rules)))

        def calls(self) -> list[dict]:
            return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

        def run(self, *args: str):
            path = os.pathsep.join([str(bin_dir), os.path.dirname(shutil.which("javac") or "/usr/bin"), "/usr/bin", "/bin"])
            return run_cli(*args, cwd=tmp_path, env={"PATH": path, "FAKE_LOG": str(log), "FAKE_PLAY": str(play),
                                                     "ANDROID_HOME": str(sdk), "COLUMNS": "200"})

    return Fakes()


def _script(path: Path) -> None:
    path.write_text(FAKE.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _tools(calls: list[dict]) -> list[list[str]]:
    return [[c["tool"], *c["args"]] for c in calls]


def test_build_android_runs_the_wrapper_and_prints_the_command(fakes):
    fakes.install()
    proc = fakes.run("build", "demo", "--platform", "android")
    assert proc.returncode == 0, proc.stderr
    assert _tools(fakes.calls()) == [["gradlew", "assembleDebug"]]
    assert fakes.calls()[0]["cwd"] == str(fakes.project / "android")
    assert "$ cd demo/android && ./gradlew assembleDebug" in proc.stdout
    assert "built android: android/app/build/outputs/apk/debug/app-debug.apk" in proc.stdout


def test_a_failing_build_exits_10_with_one_line(fakes):
    fakes.install()
    fakes.play({"tool": "gradlew", "args": ["assembleDebug"], "stdout": "BUILD FAILED\n", "exit": 1})
    proc = fakes.run("build", "demo", "--platform", "android")
    assert proc.returncode == 10 and "BUILD FAILED" in proc.stdout
    assert proc.stderr.strip() == "error: `./gradlew assembleDebug` failed (exit 1); its output is above"


def test_missing_gradlew_says_how_to_create_it(fakes):
    proc = fakes.run("build", "demo", "--platform", "android")
    assert proc.returncode == 6, proc.stderr
    assert "gradlew not found" in proc.stderr and "gradle wrapper --gradle-version" in proc.stderr
    assert proc.stderr.count("\n") == 1 and fakes.calls() == []


def test_run_android_installs_starts_the_activity_and_streams_its_tags(fakes):
    fakes.install("adb")
    fakes.play({"tool": "adb", "args": ["devices"], "stdout": DEVICES},
               {"tool": "adb", "args": ["-s", "emulator-5554", "shell"], "stdout": "Starting: Intent { cmp=... }\n"})
    proc = fakes.run("run", "demo", "--platform", "android")
    assert proc.returncode == 0, proc.stderr
    assert _tools(fakes.calls()) == [
        ["gradlew", "assembleDebug"],
        ["adb", "devices"],
        ["adb", "-s", "emulator-5554", "install", "-r", "app/build/outputs/apk/debug/app-debug.apk"],
        ["adb", "-s", "emulator-5554", "shell", "am", "start", "-n", "com.example.demo/.MainActivity"],
        ["adb", "-s", "emulator-5554", "logcat", "-c"],
        ["adb", "-s", "emulator-5554", "logcat", "-s", "MainActivity", "ModelRunner"],
    ]
    assert "devices: emulator-5554, R58M (unauthorized)" in proc.stdout


def test_run_android_without_a_ready_device_exits_11(fakes):
    fakes.install("adb")
    fakes.play({"tool": "adb", "args": ["devices"], "stdout": "List of devices attached\nR58M\tunauthorized\n"})
    proc = fakes.run("run", "demo", "--platform", "android")
    assert proc.returncode == 11 and "no running emulator or connected device" in proc.stderr
    assert not any("install" in c["args"] for c in fakes.calls())


def test_run_android_on_an_absent_device_is_refused(fakes):
    fakes.install("adb")
    fakes.play({"tool": "adb", "args": ["devices"], "stdout": DEVICES})
    proc = fakes.run("run", "demo", "--platform", "android", "--device", "R58M")
    assert proc.returncode == 11 and "--device R58M is not a ready device" in proc.stderr


def test_run_with_two_platforms_asks_which(fakes):
    proc = fakes.run("run", "demo")
    assert proc.returncode == 2 and "--platform android or --platform ios" in proc.stderr


def test_android_test_runs_host_and_instrumentation_tests_and_summarises(fakes):
    fakes.install("adb")
    fakes.play({"tool": "adb", "args": ["devices"], "stdout": DEVICES},
               {"tool": "gradlew", "args": ["connectedDebugAndroidTest"], "stdout": "1 test failed\n", "exit": 1})
    proc = fakes.run("test", "demo", "--platform", "android")
    assert proc.returncode == 10, proc.stderr
    calls = fakes.calls()
    assert _tools(calls) == [["gradlew", "testDebugUnitTest"], ["adb", "devices"], ["gradlew", "connectedDebugAndroidTest"]]
    assert calls[-1]["serial"] == "emulator-5554"
    assert "1 passed, 1 failed, 0 not run" in proc.stdout


def test_ios_build_installs_pods_and_builds_for_the_newest_iphone(fakes):
    fakes.install("pod", "xcodebuild", "xcrun", gradlew=False)
    fakes.play({"tool": "xcrun", "args": ["simctl", "list"], "stdout": SIMCTL})
    proc = fakes.run("build", "demo", "--platform", "ios")
    assert proc.returncode == 0, proc.stderr
    calls = fakes.calls()
    assert _tools(calls) == [
        ["pod", "install"],
        ["xcrun", "simctl", "list", "devices", "available", "--json"],
        ["xcodebuild", "build", "-workspace", "Demo.xcworkspace", "-scheme", "Demo",
         "-destination", "platform=iOS Simulator,id=NEW-1,arch=x86_64", "-derivedDataPath", "build",
         "CODE_SIGNING_ALLOWED=NO"],
    ]
    assert {c["cwd"] for c in calls if c["tool"] != "xcrun"} == {str(fakes.project / "ios")}
    assert "iPhone 15 (iOS-17-2, Shutdown); iPad Air (iOS-17-2, Shutdown); iPhone 14 (iOS-16-4, Shutdown)" in proc.stdout
    assert "using iPhone 15" in proc.stdout


def test_ios_run_boots_installs_and_launches(fakes):
    fakes.install("pod", "xcodebuild", "xcrun", gradlew=False)
    fakes.play({"tool": "xcrun", "args": ["simctl", "list"], "stdout": SIMCTL})
    proc = fakes.run("run", "demo", "--platform", "ios")
    assert proc.returncode == 0, proc.stderr
    assert _tools(fakes.calls())[-3:] == [
        ["xcrun", "simctl", "boot", "NEW-1"],
        ["xcrun", "simctl", "install", "NEW-1", "build/Build/Products/Debug-iphonesimulator/Demo.app"],
        ["xcrun", "simctl", "launch", "--console-pty", "NEW-1", "com.example.demo"],
    ]


def test_ios_without_a_simulator_exits_11(fakes):
    fakes.install("pod", "xcodebuild", "xcrun", gradlew=False)
    fakes.play({"tool": "xcrun", "args": ["simctl", "list"], "stdout": json.dumps({"devices": {}})})
    proc = fakes.run("build", "demo", "--platform", "ios")
    assert proc.returncode == 11 and "no available iOS simulator" in proc.stderr


def test_failing_pod_install_stops_the_ios_build(fakes):
    fakes.install("pod", "xcodebuild", "xcrun", gradlew=False)
    fakes.play({"tool": "pod", "args": ["install"], "stdout": "[!] Unable to find a specification\n", "exit": 1})
    proc = fakes.run("build", "demo", "--platform", "ios")
    assert proc.returncode == 10 and "`pod install` failed (exit 1)" in proc.stderr
    assert _tools(fakes.calls()) == [["pod", "install"]]


def test_missing_xcode_is_one_line(fakes):
    proc = fakes.run("build", "demo", "--platform", "ios")
    assert proc.returncode == 6 and proc.stderr.startswith("error: xcodebuild not found") and proc.stderr.count("\n") == 1


def test_on_this_machine_test_runs_what_it_can_and_lists_the_rest(fakes):
    # No gradlew, adb or Xcode: the host JUnit tests and the C++ core run, the rest is "not run".
    proc = fakes.run("test", "demo")
    assert proc.returncode == 12, proc.stdout + proc.stderr
    out = proc.stdout
    rows = [line for line in out.splitlines() if "│" in line]
    assert any("host unit tests (javac + JUnit 4)" in r and " pass " in r for r in rows), out
    assert any("C++ core reproduces the expected output" in r and " pass " in r for r in rows), out
    for step in ("./gradlew testDebugUnitTest", "instrumentation tests", "unit tests on a simulator (xcodebuild test)"):
        assert step in out
    assert " 0 failed, 3 not run" in out


def test_parsers():
    assert lifecycle.adb_devices(DEVICES) == (["emulator-5554"], ["R58M (unauthorized)"])
    assert [s.udid for s in lifecycle.simulators(SIMCTL)] == ["NEW-1", "IPAD-1", "OLD-1", "W-1"]
    booted = json.loads(SIMCTL)
    booted["devices"]["com.apple.CoreSimulator.SimRuntime.iOS-17-2"][0]["state"] = "Booted"
    assert lifecycle.simulators(json.dumps(booted))[0].udid == "IPAD-1"  # a booted one is used as it is


def test_log_tags_follow_the_users_code(fakes):
    java = fakes.project / "android/app/src/main/java/com/example/demo/Extra.java"
    java.write_text('class Extra { private static final String TAG = "MyTag"; }\n')
    assert lifecycle.log_tags(fakes.project / "android") == ["MainActivity", "ModelRunner", "MyTag"]
