"""`scaffold update DIR`: bring a generated project to a new model or a new scaffold version
without losing the user's edits.

The base of the three-way merge lives in the project: `new` (and every update) writes what it
rendered for each template file under DIR/.scaffold/base/, with DIR/.scaffold/manifest.json
listing those files (sha256) and the model-derived files, which are never merged but replaced.
An update renders a fresh project beside DIR, then builds the result in a staging directory:
a copy of DIR where every rendered file is merged (base = .scaffold/base copy, ours = DIR's file,
theirs = fresh render) with `git merge-file`, and every model-derived file is replaced. Only then
is the staging directory swapped for DIR (two renames under a lock on DIR's parent, with signals
held), so an error, a signal or a full disk leaves DIR exactly as it was.
"""

from __future__ import annotations

import errno
import hashlib
import inspect
import json
import os
import shutil
import stat
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import tomli_w

from generator import __version__, context as ctx, gradle, output as output_dir, record, render
from generator.errors import OutputExistsError, OutputWriteError, UsageError
from generator.metadata import Metadata
from generator.tools import Git

STATE_DIR = ".scaffold"
BASE_DIR = f"{STATE_DIR}/base"
MANIFEST = f"{STATE_DIR}/manifest.json"
MANIFEST_FORMAT = 1
UPDATE_PREFIX = ".scaffold-update-"
# new_project keywords that are not options of the project: where it goes, how this run behaves,
# and inputs that belong to one model file (a retrained model comes with its own).
NOT_RECORDED = frozenset({"model", "output", "force", "progress", "find_gradle", "weights", "sample_image", "trust_pickle"})

Progress = Callable[[str], None]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- what `new` records -------------------------------------------------------------------------

def recorded_options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The new_project arguments an update needs to run it again, as TOML values (None dropped:
    an option the user did not give is detected again from the new model)."""
    options: dict[str, Any] = {}
    for key, value in sorted(arguments.items()):
        if key in NOT_RECORDED or value is None:
            continue
        if key == "labels":
            options[key] = True  # the labels themselves are in [metadata]; the file may not outlive the project
            continue
        options[key] = list(value) if isinstance(value, tuple) else str(value) if isinstance(value, Path) else value
    return options


def _model_derived(rel: str, prefixes: list[str]) -> bool:
    return any(rel == p or rel.startswith(p + "/") for p in prefixes)


def _derived_prefixes(context: dict[str, Any], platforms: tuple[str, ...]) -> list[str]:
    """Files replaced on update, never merged: the record, export/, the model-derived artifacts
    (every kind the manifest places) and the binary/stamped Gradle wrapper."""
    prefixes = [record.FILE_NAME, "export"]
    for platform in platforms:
        out = render.section(platform)["output"]
        prefixes += [f"{out}/{render.artifact_path(platform, kind, context)}" for kind in render.section(platform)["artifacts"]]
        if platform == "android":
            prefixes += [f"{out}/{name}" for name in gradle.WRAPPER_FILES]
    return prefixes


def record_base(stage: Path, context: dict[str, Any], platforms: tuple[str, ...]) -> None:
    """Keep what was just rendered in stage (a whole project) as the base of the next update."""
    prefixes = _derived_prefixes(context, platforms)
    rendered: dict[str, str] = {}
    derived: list[str] = []
    for path in sorted(stage.rglob("*")):
        rel = path.relative_to(stage).as_posix()
        if path.is_dir() or rel.startswith(STATE_DIR + "/"):
            continue
        data = path.read_bytes()
        try:
            data.decode("utf-8")
            text = True
        except UnicodeDecodeError:
            text = False
        if _model_derived(rel, prefixes) or not text:
            derived.append(rel)
            continue
        rendered[rel] = _sha256(data)
        render.write_bytes(stage / BASE_DIR / rel, data)
    _write_manifest(stage, rendered, derived)


def _write_manifest(root: Path, rendered: dict[str, str], derived: list[str]) -> None:
    doc = {"format": MANIFEST_FORMAT, "generator": f"scaffold {__version__}", "rendered": rendered, "derived": sorted(derived)}
    render.write_bytes(root / MANIFEST, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8"))


# ---- reading the project ------------------------------------------------------------------------

def _version_key(text: str) -> tuple[int, ...]:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text).release
    except InvalidVersion:
        raise UsageError(f"its scaffold.toml names scaffold version {text!r}, which is not a version; "
                         "regenerate the project with scaffold new") from None


@dataclass
class _Project:
    target: Path
    doc: dict[str, Any]
    config: ctx.ProjectConfig
    meta: Metadata
    model: dict[str, Any]
    manifest: dict[str, Any]


def _read_project(directory: Path) -> _Project:
    shown = directory
    target = Path(os.path.abspath(directory))
    if target.is_symlink():
        raise UsageError(f"{shown} is a symbolic link; pass the project directory itself")
    path = target / record.FILE_NAME
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        ours = doc["generator"]["name"] == "scaffold"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        ours = False
    if not target.is_dir() or not ours:
        raise UsageError(f"{shown} is not a scaffold project (no scaffold.toml written by scaffold); "
                         "pass the directory `scaffold new` created")
    made_by = str(doc["generator"].get("version", ""))
    if _version_key(made_by) > _version_key(__version__):
        raise UsageError(f"{shown} was generated by scaffold {made_by}, newer than this scaffold {__version__}; "
                         f"upgrade scaffold to {made_by} or later")
    cwd = Path.cwd().resolve()
    if cwd == target.resolve() or target.resolve() in cwd.parents:
        raise UsageError(f"{shown} is (or holds) the current directory, which an update replaces as a whole; "
                         f"run it from outside: cd {target.parent} && scaffold update {target.name}")
    config, meta, model = record.load(target)
    try:
        manifest = json.loads((target / MANIFEST).read_bytes())
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError
    except (OSError, ValueError, AttributeError):
        manifest = {"rendered": {}, "derived": []}  # made before bases were kept: every difference is a conflict
    return _Project(target, doc, config, meta, model, manifest)


def _fingerprint(root: Path) -> dict[str, tuple[int, int, int]]:
    """What says a tree changed while the update ran (the user saved a file, a build wrote one)."""
    found: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            found[os.path.relpath(os.path.join(dirpath, name), root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return found


# ---- the fresh render ---------------------------------------------------------------------------

def _new_arguments(project: _Project, overrides: dict[str, Any]) -> dict[str, Any]:
    """new_project's keywords: what the project records, then what the command line overrides."""
    from generator.project import new_project

    accepted = inspect.signature(new_project).parameters
    c, m = project.config, project.meta
    arguments: dict[str, Any] = {
        "name": c.name, "package": c.package, "bundle_id": c.bundle_id, "platforms": c.platforms,
        "android_api": c.android_api, "use_vulkan": c.use_vulkan, "tolerance": c.tolerance, "rtol": c.rtol,
        "runtime": c.runtime, "backends": c.backends,
    }
    options = project.doc.get("options")
    if isinstance(options, dict):
        arguments.update(options)
    else:  # recorded before [options]: what the metadata says the user chose or scaffold found
        arguments.update(task=m.task, input_size=f"{m.input_width}x{m.input_height}", mean=",".join(map(str, m.mean)),
                         std=",".join(map(str, m.std)), output_key=m.output_key, output_index=m.output_index)
        if m.detection is not None:
            arguments.update(m.detection.to_dict())
    arguments.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("platforms", "backends"):
        if key in arguments:
            arguments[key] = tuple(arguments[key])
    return {k: v for k, v in arguments.items() if k in accepted}


def _render_with_model(project: _Project, fresh: Path, model: str, overrides: dict[str, Any], workdir: Path,
                       find_gradle: bool, progress: Progress) -> Metadata:
    from generator.project import new_project

    arguments = _new_arguments(project, overrides)
    if arguments.get("labels") is True:  # `new` was given labels: the same ones (the file may be gone)
        labels = workdir / "labels.txt"
        labels.write_text("".join(f"{label}\n" for label in project.meta.labels), encoding="utf-8")
        arguments["labels"] = labels
    if arguments.get("sample_image") is None and not project.meta.input_shape:
        # The project's own sample keeps the goldens comparable across models (a non-image
        # input's sample_input.bin is seeded: the same shape and dtype give the same bytes).
        where = project.config.platforms[0]
        sample = project.target / render.section(where)["output"] / render.artifact_path(where, "sample", ctx.build(project.config, project.meta))
        if sample.is_file():
            arguments["sample_image"] = sample
    result = new_project(model=model, output=fresh, find_gradle=find_gradle, progress=progress, **arguments)
    return result.exported.meta


def _render_templates(project: _Project, fresh: Path, find_gradle: bool) -> None:
    """The templates of this scaffold for the recorded model, with placeholder artifacts (they are
    model-derived: the update keeps the project's own)."""
    context = ctx.build(project.config, project.meta)
    fresh.mkdir()
    doc = dict(project.doc)
    doc["generator"] = {**doc["generator"], "version": __version__}
    (fresh / record.FILE_NAME).write_text(record.HEADER + tomli_w.dumps(doc))
    render.write_files(fresh, render.render_platform("project", context))
    from generator.project import _platform_module

    # Stand-ins for the model-derived files (the project's own are kept): empty bytes, and no
    # golden vectors or extra backend assets to place.
    placeholders = render.Artifacts(model=b"", sample_png=b"", expected=b"", vectors={}, extra_models={})
    for platform in project.config.platforms:
        _platform_module(platform).generate(fresh, context, placeholders, find_gradle=find_gradle, final_dir=project.target)
    record_base(fresh, context, project.config.platforms)


# ---- the merge ----------------------------------------------------------------------------------

@dataclass
class UpdateResult:
    directory: Path
    model_changed: bool
    metadata_changes: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # taken from the new render (the user had not edited them)
    merged: list[str] = field(default_factory=list)  # the user's edits and the new render, merged cleanly
    kept: list[str] = field(default_factory=list)  # the user's edits, the template did not change
    conflicts: list[str] = field(default_factory=list)  # conflict markers written
    deleted: list[str] = field(default_factory=list)  # the user deleted them: left deleted
    added: list[str] = field(default_factory=list)  # new in this render
    removed: list[str] = field(default_factory=list)  # no longer rendered, unedited: removed
    orphaned: list[str] = field(default_factory=list)  # no longer rendered, edited: left in place
    replaced: list[str] = field(default_factory=list)  # model-derived files written anew


def _merge_file(git: Git, base: bytes, ours: bytes, theirs: bytes, workdir: Path) -> tuple[bytes, bool]:
    """`git merge-file` on three versions; returns (merged bytes, clean)."""
    paths = []
    for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
        path = workdir / f"merge.{name}"
        path.write_bytes(data)
        paths.append(str(path))
    result = git.run_bytes(["merge-file", "-p", "-L", "yours", "-L", "last scaffold render",
                            "-L", f"scaffold {__version__}", *paths])
    if result.returncode < 0 or result.returncode > 127:
        raise OutputWriteError(f"git merge-file failed ({result.stderr.decode(errors='replace').strip()[:200]}); "
                               "nothing was changed")
    return result.stdout, result.returncode == 0


def _copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, stat.S_IMODE(os.lstat(src).st_mode))


def _compose(project: _Project, fresh: Path, stage: Path, *, with_model: bool, workdir: Path, git: Git) -> UpdateResult:
    result = UpdateResult(project.target, with_model)
    new_manifest = json.loads((fresh / MANIFEST).read_bytes())
    old_rendered: dict[str, str] = project.manifest.get("rendered", {})
    base_dir = project.target / BASE_DIR
    for rel, theirs_sha in sorted(new_manifest["rendered"].items()):
        theirs_path = fresh / rel
        ours_path = project.target / rel
        theirs = theirs_path.read_bytes()
        base = None
        if rel in old_rendered:
            try:
                base = (base_dir / rel).read_bytes()
            except OSError:
                base = None
            if base is not None and _sha256(base) != old_rendered[rel]:
                base = None  # the kept copy was edited: no trustworthy base
        if not os.path.lexists(ours_path):
            if rel in old_rendered:
                result.deleted.append(rel)
            else:
                _copy_file(theirs_path, stage / rel)
                result.added.append(rel)
            continue
        if not ours_path.is_file() or ours_path.is_symlink():
            result.orphaned.append(rel)  # the user put something else there: theirs, not ours to touch
            continue
        ours = ours_path.read_bytes()
        if ours == theirs:
            continue
        if base is not None and ours == base:
            _copy_file(theirs_path, stage / rel)
            result.updated.append(rel)
        elif base is not None and base == theirs:
            result.kept.append(rel)
        else:
            merged, clean = _merge_file(git, base or b"", ours, theirs, workdir)
            (stage / rel).write_bytes(merged)
            (result.merged if clean else result.conflicts).append(rel)
    for rel in sorted(set(old_rendered) - set(new_manifest["rendered"])):
        ours_path = project.target / rel
        if not ours_path.is_file():
            continue
        if _sha256(ours_path.read_bytes()) == old_rendered[rel]:
            (stage / rel).unlink()
            result.removed.append(rel)
        else:
            result.orphaned.append(rel)
    derived = set(new_manifest["derived"])
    for rel in sorted(derived):
        # Without a new model the artifacts stay; only the record (new version) and a Gradle
        # wrapper the project lacks come from the fresh render.
        wanted = (with_model or rel == record.FILE_NAME
                  or (rel.endswith(gradle.WRAPPER_FILES) and not os.path.lexists(project.target / rel)))
        if not wanted:
            continue
        if os.path.lexists(stage / rel) and not (stage / rel).is_file():
            raise UsageError(f"{project.target / rel} is not a regular file; move it away and run the update again")
        _copy_file(fresh / rel, stage / rel)
        result.replaced.append(rel)
    if with_model:
        for rel in sorted(set(project.manifest.get("derived", [])) - derived):
            if (stage / rel).is_file():
                (stage / rel).unlink()
                result.removed.append(rel)
    shutil.rmtree(stage / STATE_DIR, ignore_errors=True)
    shutil.copytree(fresh / STATE_DIR, stage / STATE_DIR)
    if not with_model:  # the project's own model-derived files stay: so does their list
        kept = set(project.manifest.get("derived", [])) | set(result.replaced)
        _write_manifest(stage, new_manifest["rendered"], [rel for rel in kept if (stage / rel).is_file()])
    return result


def metadata_changes(old: Metadata, new: Metadata) -> list[str]:
    """What changed between two models' metadata, in the words the app's code cares about."""
    def size(m: Metadata) -> str:
        return f"{m.input_width}x{m.input_height}"

    def labels(m: Metadata) -> str:
        shown = ", ".join(m.labels[:5]) + (", ..." if len(m.labels) > 5 else "")
        return f"{len(m.labels)} ({shown})" if m.labels else "none"

    rows = [
        ("task", old.task, new.task),
        ("input size", size(old), size(new)),
        ("input channels", old.input_channels, new.input_channels),
        ("mean", list(old.mean), list(new.mean)),
        ("std", list(old.std), list(new.std)),
        ("output shape", list(old.output_shape), list(new.output_shape)),
        ("output range", list(old.output_range) if old.output_range else None, list(new.output_range) if new.output_range else None),
        ("labels", labels(old), labels(new)),
        ("detection", old.detection.to_dict() if old.detection else None, new.detection.to_dict() if new.detection else None),
    ]
    return [f"{name}: {a} -> {b}" for name, a, b in rows if a != b]


# ---- the swap -----------------------------------------------------------------------------------

def _swap(project: _Project, stage: Path, before: dict[str, tuple[int, int, int]]) -> None:
    target = project.target
    with output_dir._parent_lock(target.parent):
        if _fingerprint(target) != before:
            raise OutputExistsError(f"{target} changed while scaffold updated it; it was left untouched: "
                                    "run the update again")
        old = Path(tempfile.mkdtemp(prefix=output_dir.OLD_PREFIX, dir=target.parent))
        os.rename(target, old)  # onto the empty directory just made: atomic
        try:
            os.rename(stage, target)
        except OSError:
            os.rename(old, target)
            raise
    shutil.rmtree(old, ignore_errors=True)


def update_project(directory: Path, *, model: str | Path | None = None, overrides: dict[str, Any] | None = None,
                   find_gradle: bool = True, progress: Progress = lambda _: None) -> UpdateResult:
    """Update DIR to a new model (model=...) or to this scaffold's templates (model=None)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v is not False}
    if overrides and model is None:
        raise UsageError(f"--{next(iter(overrides)).replace('_', '-')} is an option of the model: pass it with "
                         "--model (the same file to re-export it, or a retrained one)")
    git = Git()
    git.verify()
    project = _read_project(Path(directory))
    before = _fingerprint(project.target)
    workdir = stage = None
    with output_dir._Signals() as signals:
        try:
            workdir = Path(tempfile.mkdtemp(prefix=UPDATE_PREFIX, dir=project.target.parent))
            fresh = workdir / "fresh"
            if model is not None:
                new_meta = _render_with_model(project, fresh, str(model), overrides, workdir, find_gradle, progress)
            else:
                progress("rendering the templates")
                new_meta = project.meta
                _render_templates(project, fresh, find_gradle)
            progress("merging your edits")
            stage = Path(tempfile.mkdtemp(prefix=output_dir.STAGE_PREFIX, dir=project.target.parent))
            os.rmdir(stage)
            shutil.copytree(project.target, stage, symlinks=True)
            result = _compose(project, fresh, stage, with_model=model is not None, workdir=workdir, git=git)
            result.metadata_changes = metadata_changes(project.meta, new_meta)
            os.chmod(stage, stat.S_IMODE(os.stat(project.target).st_mode))
            with signals.held():
                _swap(project, stage, before)
                stage = None
        except OSError as exc:
            hint = output_dir._HINTS.get(exc.errno or 0, "check the path and try again")
            if exc.errno == errno.ENOSPC:
                hint = "free some space (an update needs room for a second copy of the project beside it)"
            raise OutputWriteError(f"cannot update {directory}: {exc.strerror or exc} ({exc.filename or 'write'}); "
                                   f"{hint}; {directory} was left unchanged") from None
        finally:
            for path in (stage, workdir):
                if path is not None:
                    shutil.rmtree(path, ignore_errors=True)
    return result
