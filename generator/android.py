"""The Android platform: render the Gradle project, place the artifacts, stamp the wrapper, check it."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from generator import gradle, render, syntax, versions
from generator.checks import CheckReport
from generator.tools import Gradle, Java, Javac, JUnit4

PLATFORM = "android"


def output_dir(project_dir: Path) -> Path:
    return Path(project_dir) / render.section(PLATFORM)["output"]


def generate(project_dir: Path, context: dict[str, Any], artifacts: render.Artifacts, *, gradle_tool: Gradle | None = None,
             find_gradle: bool = True, final_dir: Path | None = None) -> list[str]:
    """Write DIR/android; returns notes for the user (which wrapper case happened, how to finish it).

    final_dir: where project_dir ends up (messages name it, not a staging directory)."""
    root = output_dir(project_dir)
    render.write_files(root, render.render_platform(PLATFORM, context))
    render.write_artifacts(PLATFORM, root, context, artifacts)
    result = gradle.stamp(root, gradle_tool, use_path=find_gradle, shown_as=output_dir(final_dir) if final_dir is not None else None)
    return [result.note]


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
    check_wrapper(root, report)
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
    kts = sorted(p for p in root.rglob("*.kts") if "build" not in p.relative_to(root).parts)
    kts_bad = {str(p.relative_to(root)): syntax.syntax_errors("kotlin", p.read_bytes()) for p in kts}
    kts_bad = {k: v for k, v in kts_bad.items() if v}
    report.add(scope, "Kotlin DSL parses (tree-sitter-kotlin)", bool(kts) and not kts_bad,
               f"{len(kts)} files" if not kts_bad else "; ".join(f"{k} {v[0]}" for k, v in list(kts_bad.items())[:3]))
    rules = root / "app" / "proguard-rules.pro"
    uncovered = r8_uncovered(rules.read_text() if rules.is_file() else "")
    report.add(scope, "R8 rules cover the classes the pinned AARs reference", not uncovered,
               ", ".join(versions.R8_MISSING_CLASSES) if not uncovered
               else "app/proguard-rules.pro needs -dontwarn " + ", ".join(uncovered) + " (the release build fails in R8 without it)")
    target = re.search(r"^\s*targetSdk\s*=\s*(\d+)", gradle_text, re.M)
    report.add(scope, "target SDK meets Google Play's minimum",
               target is not None and int(target.group(1)) >= versions.PLAY_MIN_TARGET_SDK,
               f"targetSdk {target.group(1) if target else 'not set'}; Play requires >= {versions.PLAY_MIN_TARGET_SDK} "
               f"since {versions.PLAY_MIN_TARGET_SDK_SINCE}")
    if run_host_tests:
        host_unit_tests(root, context, report)


def check_wrapper(root: Path, report: CheckReport) -> None:
    """The wrapper CI would accept: an official jar (when there is one), the pinned Gradle."""
    scope = PLATFORM
    present = [f for f in gradle.WRAPPER_FILES if (root / f).is_file()]
    if not present:
        report.skip(scope, "gradle wrapper jar is official", "only gradle-wrapper.properties (the generated CI creates the wrapper)")
    else:
        jar = root / gradle.JAR
        release = gradle.official_jar_release(jar) if jar.is_file() else None
        if not jar.is_file():
            detail = f"{', '.join(present)} without {gradle.JAR}"
        elif release is None:
            detail = (f"sha256 {gradle.jar_sha256(jar)} is not a published Gradle wrapper checksum (CI's wrapper validation "
                      f"fails): delete gradlew, gradlew.bat and the jar, the generated CI creates them")
        else:
            detail = f"Gradle {release}'s official jar"
        report.add(scope, "gradle wrapper jar is official", release is not None, detail)
        complete = len(present) == len(gradle.WRAPPER_FILES) and (root / "gradlew").stat().st_mode & 0o111 != 0
        report.add(scope, "gradle wrapper scripts complete", complete,
                   "gradlew (executable), gradlew.bat, jar" if complete else "missing or not executable: gradlew, gradlew.bat, jar")
    props = root / gradle.PROPERTIES
    text = props.read_text() if props.is_file() else ""
    url = re.search(r"^distributionUrl=.*/gradle-([^/]+)-(?:bin|all)\.zip\s*$", text, re.M)
    sha = re.search(r"^distributionSha256Sum=(\w+)\s*$", text, re.M)
    pinned = url is not None and url.group(1) == versions.GRADLE and sha is not None and sha.group(1) == versions.GRADLE_DISTRIBUTION_SHA256
    report.add(scope, f"wrapper properties pin Gradle {versions.GRADLE}", pinned,
               "distributionUrl and distributionSha256Sum" if pinned else
               f"{gradle.PROPERTIES} has Gradle {url.group(1) if url else '?'}"
               f"{'' if sha else ' without distributionSha256Sum'}; regenerate, or set it to {versions.GRADLE}")


def r8_uncovered(rules: str) -> list[str]:
    """The classes of versions.R8_MISSING_CLASSES that no -dontwarn rule matches."""
    patterns = [m.group(1) for m in re.finditer(r"^\s*-dontwarn\s+(\S+)", rules, re.M)]

    def matches(pattern: str, name: str) -> bool:
        # ProGuard class filters: ** is any run of characters, * any run without a package separator.
        regex = "".join(".*" if tok == "**" else "[^.]*" if tok == "*" else re.escape(tok)
                        for tok in re.split(r"(\*\*|\*)", pattern))
        return re.fullmatch(regex, name) is not None

    return [c for c in versions.R8_MISSING_CLASSES if not any(matches(p, c) for pat in patterns for p in pat.split(","))]


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
    first = re.search(r"^1\) (.+)$", stdout, re.M)
    detail = f"{failed.group(2)} of {failed.group(1)} tests failed" if failed else "JUnit did not report"
    return detail + (f"; first: {first.group(1)[:150]}" if first else "")
