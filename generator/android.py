"""The Android platform: render the Gradle project, place the artifacts, stamp the wrapper, check it."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from generator import gradle, render, syntax
from generator.checks import CheckReport
from generator.tools import Gradle, Java, Javac, JUnit4

PLATFORM = "android"


def output_dir(project_dir: Path) -> Path:
    return Path(project_dir) / render.section(PLATFORM)["output"]


def generate(project_dir: Path, context: dict[str, Any], artifacts: render.Artifacts, *, gradle_tool: Gradle | None = None,
             find_gradle: bool = True) -> list[str]:
    """Write DIR/android; returns notes for the user (e.g. how to finish the wrapper)."""
    root = output_dir(project_dir)
    render.write_files(root, render.render_platform(PLATFORM, context))
    render.write_artifacts(PLATFORM, root, context, artifacts)
    result = gradle.stamp(root, gradle_tool, use_path=find_gradle)
    return [result.hint] if result.hint else []


# ---- checks -------------------------------------------------------------------------------------

def check(project_dir: Path, context: dict[str, Any], report: CheckReport, *, run_host_tests: bool = True) -> None:
    root = output_dir(project_dir)
    scope = PLATFORM
    promised = render.promised_paths(PLATFORM, context)
    promised += [gradle.PROPERTIES]
    promised += [render.artifact_path(PLATFORM, k, context) for k in ("model", "sample", "expected")]
    missing = [p for p in promised if not (root / p).is_file()]
    report.add(scope, "files the templates promise exist", not missing,
               f"{len(promised)} files" if not missing else "missing: " + ", ".join(missing[:5]))
    wrapper_missing = [f for f in gradle.WRAPPER_FILES if not (root / f).is_file()]
    if wrapper_missing:
        report.skip(scope, "gradle wrapper", "not stamped (no Gradle was found when generating): " + ", ".join(wrapper_missing))
    else:
        report.add(scope, "gradle wrapper", (root / "gradlew").stat().st_mode & 0o111 != 0, "gradlew, gradlew.bat, jar, properties")
    java_files = sorted(root.rglob("*.java"))
    bad = {str(p.relative_to(root)): syntax.syntax_errors("java", p.read_bytes()) for p in java_files}
    bad = {k: v for k, v in bad.items() if v}
    report.add(scope, "Java parses", not bad and bool(java_files),
               f"{len(java_files)} files" if not bad else "; ".join(f"{k} {v[0]}" for k, v in list(bad.items())[:3]))
    xml_files = sorted(p for p in root.rglob("*.xml") if "build" not in p.relative_to(root).parts)
    xml_bad = {str(p.relative_to(root)): syntax.xml_error(p.read_bytes()) for p in xml_files}
    xml_bad = {k: v for k, v in xml_bad.items() if v}
    report.add(scope, "XML parses", not xml_bad, f"{len(xml_files)} files" if not xml_bad else str(xml_bad)[:200])
    gradle_text = (root / "app" / "build.gradle.kts").read_text() if (root / "app/build.gradle.kts").is_file() else ""
    toml_text = (root / "gradle" / "libs.versions.toml").read_text() if (root / "gradle/libs.versions.toml").is_file() else ""
    full_artifact = re.search(r'"org\.pytorch:pytorch_android(_torchvision)?"|name\s*=\s*"pytorch_android(_torchvision)?"\s*[,}]', toml_text + gradle_text)
    report.add(scope, "only lite PyTorch artifacts", "pytorch_android_lite" in toml_text and not full_artifact,
               "pytorch_android_lite, never the full pytorch_android (duplicate classes)")
    report.add(scope, "model stored uncompressed", "noCompress" in gradle_text and '"ptl"' in gradle_text, "androidResources.noCompress has ptl")
    if run_host_tests:
        host_unit_tests(root, context, report)


def host_unit_tests(root: Path, context: dict[str, Any], report: CheckReport) -> None:
    """Compile the plain-Java classes and their JUnit tests with javac; run them with JUnit 4."""
    scope = PLATFORM
    name = "host unit tests (javac + JUnit 4)"
    javac, java, junit = Javac(), Java(), JUnit4()
    missing = [t.name for t in (javac, java, junit) if not t.available()]
    if missing:
        report.skip(scope, name, f"{', '.join(missing)} not installed: " + "; ".join(
            t.install_hint for t in (javac, java, junit) if not t.available()))
        return
    spec = render.section(PLATFORM)["host_tests"]
    env = render.environment()
    main_sources = [root / env.from_string(p).render(**context) for p in spec["main"]]
    test_root = root / spec["tests"]
    tests = sorted(test_root.rglob("*.java"))
    resources = root / spec["resources"]
    if not tests:
        report.add(scope, name, False, f"no tests under {spec['tests']}")
        return
    with tempfile.TemporaryDirectory(prefix="scaffold-junit-") as tmp:
        classes = Path(tmp) / "classes"
        classes.mkdir()
        cp = junit.verify()
        compiled = javac.run(["-encoding", "UTF-8", "-d", str(classes), "-cp", cp,
                              *map(str, main_sources), *map(str, tests)], timeout=300)
        if compiled.returncode != 0:
            report.add(scope, name, False, "javac: " + " ".join(compiled.output.splitlines()[:3])[:300])
            return
        # Helpers (e.g. golden readers) sit beside the tests; JUnit runs the *Test classes.
        test_classes = [".".join(t.relative_to(test_root).with_suffix("").parts) for t in tests if t.stem.endswith("Test")]
        ran = java.run(["-cp", f"{classes}:{resources}:{cp}", "org.junit.runner.JUnitCore", *test_classes], timeout=300)
    summary = _junit_summary(ran.stdout)
    report.add(scope, name, ran.returncode == 0, summary)


def _junit_summary(stdout: str) -> str:
    ok = re.search(r"^OK \((\d+) tests?\)", stdout, re.M)
    if ok:
        return f"{ok.group(1)} tests passed"
    failed = re.search(r"^Tests run: (\d+),\s+Failures: (\d+)", stdout, re.M)
    # JUnit prints "1) testName(Class)" and then the exception line that carries the message.
    first = re.search(r"^1\) (.+)\n(.*)$", stdout, re.M)
    detail = f"{failed.group(2)} of {failed.group(1)} tests failed" if failed else "JUnit did not report"
    if not first:
        return detail
    return f"{detail}; first: {first.group(1)[:150]}: {first.group(2).strip()[:300]}"
