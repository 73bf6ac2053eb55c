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
    runtime = context.get("runtime", "lite")
    ok, detail = runtime_artifacts(runtime, toml_text, gradle_text, vulkan="vulkan" in context.get("backends", ()))
    report.add(scope, "only the runtime's PyTorch artifacts", ok, detail)
    suffix = Path(context["model_file"]).suffix.lstrip(".")
    report.add(scope, "model stored uncompressed", model_uncompressed(gradle_text, suffix),
               f"androidResources.noCompress has {suffix}")
    min_sdk = versions.EXECUTORCH_ANDROID_MIN_SDK if runtime == "executorch" else versions.MIN_SDK
    found = re.search(r"^\s*minSdk\s*=\s*(\d+)", gradle_text, re.M)
    report.add(scope, "minSdk meets the runtime's native libraries", found is not None and int(found.group(1)) >= min_sdk,
               f"minSdk {found.group(1) if found else 'not set'}; the {runtime} runtime needs >= {min_sdk}")
    kts = sorted(p for p in root.rglob("*.kts") if "build" not in p.relative_to(root).parts)
    kts_bad = {str(p.relative_to(root)): syntax.syntax_errors("kotlin", p.read_bytes()) for p in kts}
    kts_bad = {k: v for k, v in kts_bad.items() if v}
    report.add(scope, "Kotlin DSL parses (tree-sitter-kotlin)", bool(kts) and not kts_bad,
               f"{len(kts)} files" if not kts_bad else "; ".join(f"{k} {v[0]}" for k, v in list(kts_bad.items())[:3]))
    rules = root / "app" / "proguard-rules.pro"
    uncovered = r8_uncovered(rules.read_text() if rules.is_file() else "", runtime)
    report.add(scope, "R8 rules cover the classes the pinned AARs reference", not uncovered,
               ", ".join(versions.R8_MISSING_CLASSES[runtime]) if not uncovered
               else "app/proguard-rules.pro needs -dontwarn " + ", ".join(uncovered) + " (the release build fails in R8 without it)")
    target = re.search(r"^\s*targetSdk\s*=\s*(\d+)", gradle_text, re.M)
    report.add(scope, "target SDK meets Google Play's minimum",
               target is not None and int(target.group(1)) >= versions.PLAY_MIN_TARGET_SDK,
               f"targetSdk {target.group(1) if target else 'not set'}; Play requires >= {versions.PLAY_MIN_TARGET_SDK} "
               f"since {versions.PLAY_MIN_TARGET_SDK_SINCE}")
    build_code_checks(root, context, report)
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


def runtime_artifacts(runtime: str, toml_text: str, gradle_text: str, *, vulkan: bool) -> tuple[bool, str]:
    """Whether the version catalog and build script declare the runtime's own PyTorch artifact and
    no other (two runtimes ship the same fbjni classes and clashing native libraries)."""
    text = _strip_comments(toml_text, "#") + "\n" + _strip_comments(gradle_text, "//")
    names = set(re.findall(r'name\s*=\s*"((?:pytorch_android|executorch-android)[\w-]*)"', text))
    names |= set(re.findall(r'"org\.pytorch:((?:pytorch_android|executorch-android)[\w-]*)(?::[^"]*)?"', text))
    if runtime == "executorch":
        wanted = versions.EXECUTORCH_ANDROID_VULKAN_ARTIFACT if vulkan else versions.EXECUTORCH_ANDROID_ARTIFACT
        allowed = {wanted}
    else:
        wanted = "pytorch_android_lite"
        allowed = {wanted, "pytorch_android_torchvision_lite"}
    problems = [f"needs org.pytorch:{wanted}"] if wanted not in names else []
    extra = sorted(names - allowed)
    problems += [f"must not declare {', '.join(extra)} beside it"] if extra else []
    if problems:
        return False, "; ".join(problems)
    return True, f"org.pytorch:{wanted} only" + ("" if runtime == "executorch" else ", never the full pytorch_android (duplicate classes)")


def model_uncompressed(build_gradle_kts: str, suffix: str) -> bool:
    """An androidResources.noCompress entry for the model's suffix (outside comments)."""
    text = _strip_comments(build_gradle_kts, "//")
    return any(f'"{suffix}"' in m.group(1) for m in re.finditer(r"noCompress\s*(?:\+=|\.\s*addAll\s*\(|\.\s*add\s*\()\s*(listOf\s*\([^)]*\)|\"[^\"]*\")", text))


def r8_uncovered(rules: str, runtime: str = "lite") -> list[str]:
    """The classes of versions.R8_MISSING_CLASSES[runtime] that no -dontwarn rule matches."""
    patterns = [m.group(1) for m in re.finditer(r"^\s*-dontwarn\s+(\S+)", rules, re.M)]

    def matches(pattern: str, name: str) -> bool:
        # ProGuard class filters: ** is any run of characters, * any run without a package separator.
        regex = "".join(".*" if tok == "**" else "[^.]*" if tok == "*" else re.escape(tok)
                        for tok in re.split(r"(\*\*|\*)", pattern))
        return re.fullmatch(regex, name) is not None

    return [c for c in versions.R8_MISSING_CLASSES[runtime] if not any(matches(p, c) for pat in patterns for p in pat.split(","))]


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
    rendered = set(render.promised_paths(PLATFORM, context))
    main_sources = [root / path for path in (env.from_string(p).render(**context) for p in spec["main"]) if path in rendered]
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


# ---- what a real build would hit (issue 11) ---------------------------------------------------

def build_code_checks(root: Path, context: dict[str, Any], report: CheckReport) -> None:
    scope = PLATFORM
    activity = root / "app" / "src" / "main" / "java" / context["package_path"] / "MainActivity.java"
    problems = window_insets_problems(activity.read_bytes()) if activity.is_file() else ["no MainActivity.java"]
    report.add(scope, "screen applies window insets (edge to edge since API 35)", not problems,
               "root padded by systemBars | displayCutout" if not problems else problems[0])
    if context["android_api"] == "native":
        cmake = root / "app" / "src" / "main" / "cpp" / "CMakeLists.txt"
        build = root / "app" / "build.gradle.kts"
        twice = native_libraries_packaged_twice(cmake.read_text() if cmake.is_file() else "",
                                                build.read_text() if build.is_file() else "")
        report.add(scope, "native libraries are never packaged twice", not twice,
                   "every library from both CMake and the AAR is in jniLibs.pickFirsts" if not twice
                   else "no pickFirsts/excludes for " + ", ".join(twice) + " (mergeNativeLibs: 2 files found)")


def _strip_comments(text: str, line_comment: str) -> str:
    """Drop comments outside string literals (CMake '#', Kotlin '//' and block comments)."""
    out, i, quote = [], 0, None
    while i < len(text):
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch == '"':
            quote = ch
            out.append(ch)
        elif text.startswith(line_comment, i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif line_comment == "//" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def cmake_imported_libraries(cmakelists: str) -> set[str]:
    """File names (libX.so) of the SHARED IMPORTED libraries a CMakeLists.txt links: AGP packages
    each of them into the APK."""
    text = _strip_comments(cmakelists, "#")
    imported = set(re.findall(r"add_library\s*\(\s*([\w.+-]+)\s+SHARED\s+IMPORTED\b", text, re.I))
    locations = []
    for target, body in re.findall(r"set_target_properties\s*\(\s*([\w.+-]+)\s+PROPERTIES\s+([^)]*)\)", text, re.I):
        location = re.search(r'IMPORTED_LOCATION\s+"?([^"\s]+)"?', body)
        if location:
            locations.append((target, location.group(1)))
    locations += re.findall(r'set_property\s*\(\s*TARGET\s+([\w.+-]+)\s+PROPERTY\s+IMPORTED_LOCATION\s+"?([^"\s)]+)"?', text, re.I)
    return {path.rsplit("/", 1)[-1] for target, path in locations if target in imported}


def jni_packaging_patterns(build_gradle_kts: str) -> set[str]:
    """The packaging.jniLibs pickFirsts and excludes patterns of a module's build.gradle.kts
    (`+= "x"`, `+= listOf(...)`, `.add("x")`, `.addAll(listOf(...))`, block or dotted form)."""
    text = _strip_comments(build_gradle_kts, "//")
    statements = re.findall(r"(?:\bjniLibs\s*\.\s*|^\s*)(?:pickFirsts|excludes)\s*(?:\+=|\.\s*addAll\s*\(|\.\s*add\s*\()"
                            r"\s*(listOf\s*\([^)]*\)|setOf\s*\([^)]*\)|\"[^\"]*\")", _jni_libs_blocks(text), re.M)
    return {literal for statement in statements for literal in re.findall(r'"([^"]*)"', statement)}


def _jni_libs_blocks(text: str) -> str:
    """The bodies of every `jniLibs { ... }` block, plus every `jniLibs.` statement outside them."""
    parts = [m.group(0) for m in re.finditer(r"^.*\bjniLibs\s*\..*$", text, re.M)]
    for match in re.finditer(r"\bjniLibs\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        parts.append(text[match.end():i - 1])
    return "\n".join(parts)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("/?" + "".join(out) + r"\Z")


def native_libraries_packaged_twice(cmakelists: str, build_gradle_kts: str) -> list[str]:
    """APK paths (lib/<abi>/libX.so) that both the CMake build and the pytorch_android_lite AAR
    put into the APK with no pickFirsts or excludes pattern that matches them."""
    from_cmake = cmake_imported_libraries(cmakelists)
    if re.search(r"ANDROID_STL=c\+\+_shared", _strip_comments(build_gradle_kts, "//")):
        from_cmake.add("libc++_shared.so")
    both = sorted(from_cmake & set(versions.PYTORCH_ANDROID_LITE_JNI_LIBS))
    patterns = [_glob_regex(p) for p in jni_packaging_patterns(build_gradle_kts)]
    return [path for name in both for abi in versions.PYTORCH_ANDROID_LITE_ABIS
            for path in [f"lib/{abi}/{name}"] if not any(p.match(path) for p in patterns)]


_INSETS_QUERY = """
(method_invocation
  object: (identifier) @view_compat (#eq? @view_compat "ViewCompat")
  name: (identifier) @method (#eq? @method "setOnApplyWindowInsetsListener")
  arguments: (argument_list (_) (lambda_expression) @listener))
"""


def window_insets_problems(java_source: bytes) -> list[str]:
    """What keeps an Activity's content from clearing the system bars when drawn edge to edge:
    it must call ViewCompat.setOnApplyWindowInsetsListener with a lambda that reads
    getInsets(WindowInsetsCompat.Type.systemBars() | ...displayCutout()) and applies them with
    setPadding, installed from onCreate (directly or through a method onCreate calls). Found with
    a tree-sitter-java query, so comments and strings do not count."""
    import tree_sitter

    parser = syntax._parser("java")
    tree = parser.parse(java_source)
    query = tree_sitter.Query(parser.language, _INSETS_QUERY)
    listeners = [node for _, captures in tree_sitter.QueryCursor(query).matches(tree.root_node)
                 for node in captures.get("listener", [])]
    if not listeners:
        return ["no ViewCompat.setOnApplyWindowInsetsListener(view, lambda) call"]
    padding = []
    for listener in listeners:
        calls = _invocations(listener)
        insets_args = [args for name, args in calls if name == "getInsets"]
        types = {name for args in insets_args for name, _ in _invocations(args) if _qualifier(args, name) == "WindowInsetsCompat.Type"}
        if {"systemBars", "displayCutout"} <= types and any(name == "setPadding" for name, _ in calls):
            padding.append(listener)
    if not padding:
        return ["the insets listener does not pad by getInsets(WindowInsetsCompat.Type.systemBars() | displayCutout())"]
    # Installed from onCreate, directly or through a helper onCreate calls.
    on_create = [m for m in _methods(tree.root_node) if _name(m) == "onCreate"]
    called = {name for m in on_create for name, _ in _invocations(m)}
    for listener in padding:
        method = listener.parent
        while method is not None and method.type != "method_declaration":
            method = method.parent
        if method is not None and (_name(method) == "onCreate" or _name(method) in called):
            return []
    return ["the insets listener is never installed from onCreate"]


def _methods(root) -> list[Any]:
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if node.type == "method_declaration":
            found.append(node)
        stack.extend(node.children)
    return found


def _name(node) -> str:
    return node.child_by_field_name("name").text.decode()


def _invocations(node) -> list[tuple[str, Any]]:
    """(method name, argument_list node) of every method call under node."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == "method_invocation":
            name = current.child_by_field_name("name")
            found.append((name.text.decode(), current.child_by_field_name("arguments")))
        stack.extend(current.children)
    return found


def _qualifier(node, method: str) -> str | None:
    """The object text of the first call to `method` under node (e.g. WindowInsetsCompat.Type)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "method_invocation" and current.child_by_field_name("name").text.decode() == method:
            obj = current.child_by_field_name("object")
            return obj.text.decode() if obj is not None else None
        stack.extend(current.children)
    return None
