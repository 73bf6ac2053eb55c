"""Rendering template trees into a project, as `templates/manifest.toml` describes.

A file ending in `.jinja` is rendered and loses the suffix; any other file is copied byte for
byte. Output order, newlines and file modes are fixed so the same inputs give the same tree.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from generator import names

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
MANIFEST = TEMPLATES_DIR / "manifest.toml"
SUFFIX = ".jinja"


@functools.lru_cache(maxsize=None)
def manifest() -> dict[str, Any]:
    with open(MANIFEST, "rb") as fh:
        return tomllib.load(fh)


def environment(root: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    env.filters.update(
        xml=names.xml_escape,
        plist=names.xml_escape,
        android_str=names.android_string,
        java_str=names.java_string,
        kotlin_str=names.kotlin_string,
        swift_str=names.swift_string,
        pbx_str=names.pbx_string,
        jfloat=names.java_float,
    )
    return env


@dataclass
class RenderedFile:
    path: str  # relative to the platform output dir, POSIX
    data: bytes
    executable: bool = False


def _expr(env: jinja2.Environment, text: str, context: dict[str, Any]) -> Any:
    return env.compile_expression(text, undefined_to_none=False)(**context)


def _render_path(env: jinja2.Environment, rel: str, context: dict[str, Any]) -> str:
    out = env.from_string(rel).render(**context) if "{" in rel else rel
    return out[: -len(SUFFIX)] if out.endswith(SUFFIX) else out


def section(platform: str) -> dict[str, Any]:
    return manifest()[platform]


def artifact_path(platform: str, kind: str, context: dict[str, Any]) -> str:
    """Where a generated artifact (model, sample, expected, goldens) goes inside a platform."""
    env = environment()
    return env.from_string(section(platform)["artifacts"][kind]).render(**context)


def _skipped(rel: str, rules: list[dict[str, Any]], env: jinja2.Environment, context: dict[str, Any]) -> bool:
    for rule in rules:
        if any(fnmatch.fnmatchcase(rel, pat) for pat in rule["paths"]) and not _expr(env, rule["if"], context):
            return True
    return False


def _render_tree(env: jinja2.Environment, tree_name: str, rules: list[dict[str, Any]],
                 context: dict[str, Any]) -> list[RenderedFile]:
    tree = TEMPLATES_DIR / tree_name
    files: list[RenderedFile] = []
    for src in sorted(p for p in tree.rglob("*") if p.is_file()):
        rel = src.relative_to(tree).as_posix()
        if _skipped(rel, rules, env, context):
            continue
        out_rel = _render_path(env, rel, context)
        if rel.endswith(SUFFIX):
            template = env.get_template(f"{tree_name}/{rel}")
            data = template.render(**context).encode("utf-8")
        else:
            data = src.read_bytes()
        files.append(RenderedFile(out_rel, data, os.access(src, os.X_OK)))
    return files


def _shared_files(env: jinja2.Environment, spec: dict[str, Any], context: dict[str, Any]) -> list[RenderedFile]:
    if not spec.get("shared") or not _expr(env, spec.get("shared_if", "false"), context):
        return []
    return [RenderedFile(_render_path(env, dest, context), (TEMPLATES_DIR / "shared" / shared_rel).read_bytes(), False)
            for shared_rel, dest in sorted(spec["shared"].items())]


def runtime_section(platform: str, runtime: str) -> dict[str, Any]:
    """The part of a platform that only one runtime has (its own tree, rules and shared files)."""
    return section(platform).get("runtimes", {}).get(runtime, {})


def render_platform(platform: str, context: dict[str, Any]) -> list[RenderedFile]:
    """All template files of one platform: its common tree, the tree of the context's runtime
    (a file lives in exactly one of them), and the shared files each asks for; in memory."""
    spec = section(platform)
    env = environment()
    files = _render_tree(env, spec["tree"], spec.get("when", []), context) + _shared_files(env, spec, context)
    extra = runtime_section(platform, context.get("runtime", "lite"))
    if extra.get("tree"):
        files += _render_tree(env, extra["tree"], extra.get("when", []), context)
    files += _shared_files(env, extra, context)
    seen: set[str] = set()
    for f in files:
        if f.path in seen:
            raise RuntimeError(f"template manifest renders {f.path} twice")
        seen.add(f.path)
    return sorted(files, key=lambda f: f.path)


def promised_paths(platform: str, context: dict[str, Any]) -> list[str]:
    """Paths a platform's templates produce for this context (for `scaffold check`)."""
    return [f.path for f in render_platform(platform, context)]


def write_files(root: Path, files: list[RenderedFile]) -> None:
    for f in files:
        write_bytes(root / f.path, f.data, executable=f.executable)


def write_bytes(path: Path, data: bytes, *, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    # Fixed modes (not the umask's) keep the tree identical across machines.
    os.chmod(path, 0o755 if executable else 0o644)


@dataclass
class Artifacts:
    """Binary files the generator computed; each platform decides where they go (manifest)."""

    model: bytes
    sample_png: bytes
    expected: bytes
    vectors: dict[str, bytes]
    # The runtime's assets beside the CPU one, by manifest kind ("vulkan_model", "coreml_model");
    # a platform gets those its manifest section places.
    extra_models: dict[str, bytes] = field(default_factory=dict)


def write_artifacts(platform: str, root: Path, context: dict[str, Any], artifacts: Artifacts) -> list[str]:
    """Where each artifact goes inside a platform comes from the manifest."""
    placed = {
        "model": artifacts.model,
        "sample": artifacts.sample_png,
        "expected": artifacts.expected,
        **{kind: data for kind, data in artifacts.extra_models.items() if kind in section(platform)["artifacts"]},
    }
    written = []
    for kind, data in placed.items():
        rel = artifact_path(platform, kind, context)
        write_bytes(root / rel, data)
        written.append(rel)
    if "goldens" in section(platform)["artifacts"]:
        golden_dir = artifact_path(platform, "goldens", context)
        for name, data in sorted(artifacts.vectors.items()):
            write_bytes(root / golden_dir / name, data)
            written.append(f"{golden_dir}/{name}")
    return written
