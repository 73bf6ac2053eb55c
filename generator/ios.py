"""The iOS platform: render the SwiftUI project (LibTorch-Lite through CocoaPods, or ExecuTorch
through Swift Package Manager), write the Xcode project, check it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator import pbxparse, pbxproj, render, syntax, versions
from generator.checks import CheckReport

PLATFORM = "ios"
# Names are validated where the Xcode project is written; re-exported for the pipeline.
product_name_from = pbxproj.product_name_from
derive_bundle_id = pbxproj.derive_bundle_id
validate_bundle_id = pbxproj.validate_bundle_id


# Products of ExecuTorch's Swift package (Package.swift on branch swiftpm-1.4.1): the runtime,
# the XNNPACK delegate every asset uses, the optimized CPU kernels (with the portable fallback)
# for the operators no delegate took. kernels_quantized is not linked: an fp32 export has no
# quantized operators outside the XNNPACK delegate.
EXECUTORCH_PRODUCTS = ("executorch", "backend_xnnpack", "kernels_optimized")
EXECUTORCH_BACKEND_PRODUCTS = {"coreml": "backend_coreml"}  # vulkan is Android-only


def swift_package(context: dict[str, Any]) -> pbxproj.SwiftPackage | None:
    """The Swift package the app links for the context's runtime (None: the lite runtime's pods)."""
    if context.get("runtime", "lite") != "executorch":
        return None
    backends = context.get("backends", ())
    extra = tuple(EXECUTORCH_BACKEND_PRODUCTS[b] for b in backends if b in EXECUTORCH_BACKEND_PRODUCTS)
    return pbxproj.SwiftPackage(name="executorch", url=versions.EXECUTORCH_SWIFTPM_URL,
                                branch=versions.EXECUTORCH_SWIFTPM_BRANCH, products=EXECUTORCH_PRODUCTS + extra)


def deployment_target(context: dict[str, Any]) -> str:
    if context.get("runtime", "lite") == "executorch":
        return versions.EXECUTORCH_IOS_DEPLOYMENT_TARGET
    return versions.IOS_DEPLOYMENT_TARGET


def output_dir(project_dir: Path) -> Path:
    return Path(project_dir) / render.section(PLATFORM)["output"]


def generate(project_dir: Path, context: dict[str, Any], artifacts, **_: Any) -> list[str]:
    root = output_dir(project_dir)
    render.write_files(root, render.render_platform(PLATFORM, context))
    render.write_artifacts(PLATFORM, root, context, artifacts)
    pbxproj.write_xcode_project(root, product_name=context["product_name"], bundle_id=context["bundle_id"],
                                deployment_target=deployment_target(context), swift_version=versions.SWIFT_VERSION,
                                cxx_standard=versions.IOS_CXX_LANGUAGE_STANDARD, package=swift_package(context))
    return []


def check(project_dir: Path, context: dict[str, Any], report: CheckReport, *, run_native: bool = True) -> None:
    root = output_dir(project_dir)
    scope = PLATFORM
    promised = render.promised_paths(PLATFORM, context)
    promised += [render.artifact_path(PLATFORM, k, context) for k in ("model", "sample", "expected")]
    promised += [f"{context['product_name']}.xcodeproj/project.pbxproj"]
    missing = [p for p in promised if not (root / p).is_file()]
    report.add(scope, "files the templates promise exist", not missing,
               f"{len(promised)} files" if not missing else "missing: " + ", ".join(missing[:5]))
    problems = pbxparse.check_xcode_project(root) if (root / promised[-1]).is_file() else ["no project.pbxproj"]
    report.add(scope, "project.pbxproj parses and references every file", not problems,
               "sources and resources in the right build phases" if not problems else "; ".join(problems[:3]))
    package = swift_package(context)
    if package is not None:
        minimum = deployment_target(context)
        package_problems = (pbxparse.check_swift_package(root, package, minimum)
                            if (root / promised[-1]).is_file() else ["no project.pbxproj"])
        package_problems += [f"{name}: CocoaPods file in a SwiftPM project"
                             for name in ("Podfile", "Podfile.lock") if (root / name).exists()]
        report.add(scope, f"ExecuTorch Swift package {package.branch} linked with what the backends need",
                   not package_problems,
                   f"{', '.join(package.products)}; -all_load; iOS >= {minimum}" if not package_problems
                   else "; ".join(package_problems[:3]))
    swift = sorted(root.rglob("*.swift"))
    bad = {str(p.relative_to(root)): syntax.syntax_errors("swift", p.read_bytes()) for p in swift}
    bad = {k: v for k, v in bad.items() if v}
    report.add(scope, "Swift parses (tree-sitter-swift)", bool(swift) and not bad,
               f"{len(swift)} files" if not bad else "; ".join(f"{k} {v[0]}" for k, v in list(bad.items())[:3]))
    plists = sorted(p for p in root.rglob("*.plist") if "Pods" not in p.parts)
    plist_bad = {str(p.relative_to(root)): syntax.plist_error(p.read_bytes()) for p in plists}
    plist_bad = {k: v for k, v in plist_bad.items() if v}
    report.add(scope, "Info.plist parses", bool(plists) and not plist_bad, f"{len(plists)} files" if not plist_bad else str(plist_bad)[:200])
    from generator import native

    # Without g++ too: the target must pin the standard whatever the host can compile.
    native.report_ios_cxx_standard(report, root, native.ios_std_flag(root))
    if run_native:
        native.check_ios(project_dir, context, report)
