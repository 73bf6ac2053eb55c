"""Checks on what a generated project's repository and CI rely on: the workflows lint clean
(actionlint), the CI toolchain meets the stores' current minimums, and the .gitignores keep build
output (and LibTorch's Pods, over GitHub's file size limit) out of git."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from generator import versions
from generator.checks import CheckReport
from generator.tools import Actionlint

SCOPE = "project"
WORKFLOWS = ".github/workflows"
# Entries each .gitignore must hold (path relative to the project; the platform it belongs to).
GITIGNORES = {
    ".gitignore": (None, (".DS_Store",)),
    "android/.gitignore": ("android", ("build/", ".gradle/", "local.properties", ".idea/", "*.iml", ".cxx/")),
    "ios/.gitignore": ("ios", ("Pods/", "build/", "DerivedData/", "xcuserdata/")),
}


def check(project_dir: Path, context: dict[str, Any], report: CheckReport, *, actionlint: Actionlint | None = None) -> None:
    check_gitignores(project_dir, context, report)
    check_actionlint(project_dir, report, actionlint or Actionlint())
    if "ios" in context["platforms"]:
        check_xcode(project_dir, report)


def check_gitignores(project_dir: Path, context: dict[str, Any], report: CheckReport) -> None:
    problems = []
    for rel, (platform, entries) in GITIGNORES.items():
        if platform is not None and platform not in context["platforms"]:
            continue
        path = project_dir / rel
        if not path.is_file():
            problems.append(f"{rel} missing")
            continue
        lines = {line.strip() for line in path.read_text().splitlines()}
        absent = [e for e in entries if e not in lines]
        if absent:
            problems.append(f"{rel} lacks {', '.join(absent)}")
    report.add(SCOPE, ".gitignore files exist and ignore build output", not problems,
               "top level, " + ", ".join(p for p in context["platforms"]) if not problems else "; ".join(problems))


def check_actionlint(project_dir: Path, report: CheckReport, tool: Actionlint) -> None:
    name = "workflows pass actionlint"
    # Relative to project_dir, where actionlint runs: a relative DIR must not be joined twice.
    files = sorted(str(p.relative_to(project_dir)) for p in (project_dir / WORKFLOWS).glob("*.yml"))
    if not tool.available():
        report.skip(SCOPE, name, f"actionlint not installed; {tool.install_hint}")
        return
    if not files:
        report.add(SCOPE, name, False, f"no workflows in {WORKFLOWS}")
        return
    result = tool.run(["-oneline", "-no-color", *files], cwd=project_dir, timeout=120)
    findings = [line.replace(str(project_dir) + "/", "") for line in result.stdout.splitlines() if line.strip()]
    ok = result.returncode == 0 and not findings
    report.add(SCOPE, name, ok, f"{len(files)} workflows" if ok else
               (f"{len(findings)} findings; first: {findings[0][:300]}" if findings else result.output[:300]))


def check_xcode(project_dir: Path, report: CheckReport) -> None:
    workflow = project_dir / WORKFLOWS / "ios.yml"
    text = workflow.read_text() if workflow.is_file() else ""
    selected = re.search(r"xcode-select\s+-s\s+/Applications/Xcode_(\d+)(?:\.\d+)*\.app", text)
    major = int(selected.group(1)) if selected else None
    report.add(SCOPE, "CI's Xcode meets the App Store's minimum", major is not None and major >= versions.APP_STORE_MIN_XCODE,
               f"Xcode {major if major is not None else 'not selected in ios.yml'}; App Store Connect requires "
               f"{versions.APP_STORE_MIN_XCODE}+ since {versions.APP_STORE_MIN_XCODE_SINCE}")
