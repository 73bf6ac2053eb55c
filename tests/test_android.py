"""The Android build-file checks of `scaffold check`, each failing on a broken project and passing on a good one."""

import hashlib
import re

import pytest
import yaml

from generator import android, gradle, versions
from generator.checks import FAIL, PASS, SKIP, CheckReport
from conftest import edit, write_tree
from golden_cases import case_context, rendered


@pytest.fixture(params=["classification-java", "segmentation-native"])
def project(request, tmp_path):
    write_tree(tmp_path, rendered(request.param))
    android_dir = tmp_path / "android"
    (android_dir / gradle.PROPERTIES).parent.mkdir(parents=True, exist_ok=True)
    (android_dir / gradle.PROPERTIES).write_text(gradle.properties_text())
    return tmp_path, case_context(request.param)


def rows(project_dir, context) -> dict[str, str]:
    report = CheckReport()
    android.check(project_dir, context, report, run_host_tests=False)
    return {c.name: c.status for c in report.checks}



def test_a_generated_project_passes_every_build_file_row(project):
    status = rows(*project)
    for name in ("Kotlin DSL parses (tree-sitter-kotlin)", "R8 rules cover the classes the pinned AARs reference",
                 "target SDK meets Google Play's minimum", f"wrapper properties pin Gradle {versions.GRADLE}"):
        assert status[name] == PASS, name
    assert status["gradle wrapper jar is official"] == SKIP  # properties only


def write_wrapper(android_dir, jar: bytes):
    for rel, data in (("gradlew", b"#!/bin/sh\n"), ("gradlew.bat", b"@rem\r\n"), (gradle.JAR, jar)):
        (android_dir / rel).write_bytes(data)
    (android_dir / "gradlew").chmod(0o755)


def test_wrapper_jar_must_be_official(project, monkeypatch):
    root, context = project
    write_wrapper(root / "android", b"a rebuilt jar")
    assert rows(root, context)["gradle wrapper jar is official"] == FAIL
    monkeypatch.setitem(versions.OFFICIAL_WRAPPER_JARS, hashlib.sha256(b"a rebuilt jar").hexdigest(), "pretend")
    status = rows(root, context)
    assert status["gradle wrapper jar is official"] == PASS and status["gradle wrapper scripts complete"] == PASS
    (root / "android/gradlew.bat").unlink()
    assert rows(root, context)["gradle wrapper scripts complete"] == FAIL


@pytest.mark.parametrize("old, new", [
    (f"gradle-{versions.GRADLE}-bin.zip", "gradle-8.12-bin.zip"),
    (f"distributionSha256Sum={versions.GRADLE_DISTRIBUTION_SHA256}\n", ""),
    (versions.GRADLE_DISTRIBUTION_SHA256, "0" * 64),
])
def test_wrapper_properties_must_pin_the_gradle_of_versions(project, old, new):
    root, context = project
    edit(root / "android" / gradle.PROPERTIES, old, new)
    assert rows(root, context)[f"wrapper properties pin Gradle {versions.GRADLE}"] == FAIL


@pytest.mark.parametrize("rel, old, new", [
    ("app/build.gradle.kts", "    }\n\n    compileOptions {", "\n\n    compileOptions {"),  # unbalanced brace
    ("settings.gradle.kts", 'include(":app")', 'include(":app"'),
    ("build.gradle.kts", "apply false", "apply false }"),
])
def test_kotlin_dsl_that_does_not_parse_fails(project, rel, old, new):
    root, context = project
    edit(root / "android" / rel, old, new)
    assert rows(root, context)["Kotlin DSL parses (tree-sitter-kotlin)"] == FAIL


@pytest.mark.parametrize("rule, ok", [
    ("-dontwarn javax.annotation.Nullable", True),
    ("-dontwarn javax.annotation.**", True),
    ("-dontwarn javax.**", True),
    ("-dontwarn javax.*", False),  # one * does not cross a package separator
    ("-dontwarn javax.annotation.Nonnull", False),
    ("", False),
])
def test_r8_rules_must_cover_the_referenced_classes(project, rule, ok):
    root, context = project
    edit(root / "android/app/proguard-rules.pro", "-dontwarn javax.annotation.Nullable", rule)
    assert rows(root, context)["R8 rules cover the classes the pinned AARs reference"] == (PASS if ok else FAIL)


def test_target_sdk_below_plays_minimum_fails(project):
    root, context = project
    edit(root / "android/app/build.gradle.kts", f"targetSdk = {versions.TARGET_SDK}", "targetSdk = 35")
    assert rows(root, context)["target SDK meets Google Play's minimum"] == FAIL


def test_pins_meet_the_stores_and_agp_supports_them():
    assert versions.TARGET_SDK >= versions.PLAY_MIN_TARGET_SDK and versions.COMPILE_SDK >= versions.TARGET_SDK
    assert versions.ANDROID_EMULATOR_API == versions.TARGET_SDK
    assert versions.GRADLE_WRAPPER_JAR_SHA256 in versions.OFFICIAL_WRAPPER_JARS


def test_release_is_debug_signed_only_under_the_ci_property(project):
    root, _ = project
    text = (root / "android/app/build.gradle.kts").read_text()
    assert text.count('signingConfig = signingConfigs.getByName("debug")') == 1
    release = text[text.index("release {"):text.index("compileOptions")]
    assert re.search(r'if \(ciDebugSigning\) \{\s*signingConfig = signingConfigs.getByName\("debug"\)\s*\}', release)
    assert 'providers.gradleProperty("scaffold.ciDebugSigning")' in text


def test_the_workflow_builds_release_and_works_with_or_without_a_committed_wrapper(project):
    root, _ = project
    steps = yaml.safe_load((root / ".github/workflows/android.yml").read_text())["jobs"]["test"]["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert set(uses) == {versions.ACTION_CHECKOUT, versions.ACTION_SETUP_JAVA, versions.ACTION_SETUP_GRADLE,
                         versions.ACTION_ANDROID_EMULATOR, versions.ACTION_UPLOAD_ARTIFACT}
    setup = next(s for s in steps if s.get("uses") == versions.ACTION_SETUP_GRADLE)
    assert setup["with"]["gradle-version"] == versions.GRADLE
    runs = [s.get("run", "") for s in steps]
    create = next(i for i, s in enumerate(steps) if "wrapper --gradle-version" in s.get("run", ""))
    assert steps[create]["if"] == "hashFiles('android/gradlew') == ''"
    assert f'--gradle-version "{versions.GRADLE}"' in runs[create]
    first_use = next(i for i, r in enumerate(runs) if "./gradlew" in r or "chmod +x gradlew" in r)
    assert create < first_use
    assert any(r.strip() == "./gradlew assembleRelease -Pscaffold.ciDebugSigning=true" for r in runs)
    emulator = next(s for s in steps if s.get("uses") == versions.ACTION_ANDROID_EMULATOR)["with"]
    assert (emulator["api-level"], emulator["target"], emulator["arch"]) == (36, "google_apis", "x86_64")
