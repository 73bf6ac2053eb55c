"""The output directory: refuse dangerous targets, build beside DIR, move the result into place.

The promises this module keeps (README, "What scaffold never does"):
- A directory is only ever deleted when scaffold generated it (its marker file says so and it
  holds nothing at the top that scaffold does not write) and the user passed --force; never `/`,
  the home or current directory or a folder holding them, nor one that holds an input file.
- The final step is atomic with respect to the emptiness check: it runs under a lock on DIR's
  parent and uses rename(2), which refuses to replace a non-empty directory, so a DIR that fills
  while the model exports is left alone and the run fails with one line.
- On every failure (an error, OSError such as ENOSPC/EROFS, SIGINT, SIGTERM, SIGHUP) DIR and its
  parents are left exactly as before: the staging directory and the parents this run created
  are removed. Only SIGKILL can leave a hidden `.scaffold-*` staging directory beside DIR.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from generator.errors import OutputExistsError, OutputWriteError, UsageError

# Short and fixed, so any DIR name the file system accepts also works for the staging directory.
STAGE_PREFIX = ".scaffold-"
OLD_PREFIX = ".scaffold-old-"
# SIGINT too: Python's own handler would raise KeyboardInterrupt in the middle of the final move.
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_HINTS = {
    errno.ENOSPC: "free some space or choose another --output",
    errno.EDQUOT: "free some space or choose another --output",
    errno.EROFS: "the file system is read-only: choose another --output",
    errno.EACCES: "choose a directory you can write to",
    errno.EPERM: "choose a directory you can write to",
    errno.ENAMETOOLONG: "choose a shorter --output",
}


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP during a run: unwinds like Ctrl-C so the staging directory is removed."""

    def __init__(self, signo: int) -> None:
        super().__init__(signal.Signals(signo).name)
        self.signo = signo


@dataclass(frozen=True)
class Ownership:
    """How to recognise a directory scaffold wrote, so that --force deletes nothing else."""

    marker: str
    is_marker: Callable[[bytes], bool]
    entries: frozenset[str]
    what: str

    def problem(self, directory: Path) -> str | None:
        """Why `directory` is not one scaffold made, or None when it is."""
        marker = directory / self.marker
        try:
            ours = marker.is_file() and not marker.is_symlink() and self.is_marker(marker.read_bytes())
        except OSError as exc:
            return f"its {self.marker} is unreadable ({exc.strerror})"
        if not ours:
            return f"it has no {self.marker} written by scaffold"
        foreign = sorted(p.name for p in directory.iterdir() if p.name not in self.entries)
        if foreign:
            return f"it holds {', '.join(foreign[:3])}, which scaffold did not write"
        return None


@dataclass
class _Plan:
    output: Path  # as the user typed it, for messages
    target: Path  # absolute, parents resolved, last component as given
    identity: tuple[int, int] | None  # (st_dev, st_ino) of a non-empty DIR that --force may replace
    ownership: Ownership
    fill: bool = False  # DIR is the (empty) current directory: move the entries in, keep DIR itself

    @property
    def beside(self) -> Path:
        """Where the staging directory goes: next to DIR, or inside it when filling it."""
        return self.target if self.fill else self.target.parent


def _target(output: Path) -> Path:
    absolute = Path(os.path.abspath(output))
    if absolute == Path(absolute.anchor):
        return absolute
    # Parents are resolved; the last component is judged itself (a symlink DIR is refused).
    return Path(os.path.realpath(absolute.parent)) / absolute.name


def _existing_ancestor(path: Path) -> Path:
    for parent in path.parents:
        if os.path.lexists(parent):
            return parent
    return Path(path.anchor)


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _is_within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _check_shape(output: Path, target: Path) -> None:
    """Path problems the OS would otherwise report as a traceback halfway through."""
    anchor = _existing_ancestor(target)
    if not anchor.is_dir():
        raise UsageError(f"cannot create --output {output}: {anchor} is a file, not a directory; choose another --output")
    limit = _name_max(anchor)
    for part in target.relative_to(anchor).parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise UsageError(f"--output {output}: the name {part[:20]}... is {size} bytes, over the file system's "
                             f"limit of {limit}; choose a shorter name")
    if target.is_symlink():
        where = os.readlink(target)
        raise UsageError(f"--output {output} is a symbolic link (to {where}); pass the directory itself or a new path")


def _check_danger(output: Path, target: Path, inputs: Iterable[Path]) -> None:
    real = target.resolve()
    home, cwd = Path.home().resolve(), Path.cwd().resolve()
    if real == Path(real.anchor) or _is_within(home, real):
        raise OutputExistsError(f"refusing --output {output}: it is the root or your home directory or holds it; "
                                "choose a new directory")
    if _is_within(cwd, real) and not (real == cwd and not any(real.iterdir())):
        raise OutputExistsError(f"refusing --output {output}: it is the current directory (not empty) or holds it, "
                                "which scaffold never replaces; pass --output NEW_DIR, or run in an empty directory")
    for item in inputs:
        resolved = Path(item).resolve()
        if _is_within(resolved, real):
            raise OutputExistsError(f"refusing --output {output}: it holds the input {item}; "
                                    "choose a directory that does not contain the model, weights, labels or picture")


def plan(output: Path, *, force: bool, inputs: Iterable[Path], ownership: Ownership) -> _Plan:
    """Every check that can be made before the (slow) work starts; raises on a refused DIR."""
    output = Path(output)
    target = _target(output)
    _check_shape(output, target)
    _check_danger(output, target, inputs)
    if target.exists() and not target.is_dir():
        raise OutputExistsError(f"{output} exists and is not a directory; choose another --output")
    identity = None
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise OutputExistsError(f"{output} exists and is not empty; choose another --output "
                                    "or pass --force to replace it")
        problem = ownership.problem(target)
        if problem:
            raise OutputExistsError(f"--force replaces only a {ownership.what} scaffold generated, and {output} is not: "
                                    f"{problem}; empty it yourself or choose another --output")
        st = target.stat()
        identity = (st.st_dev, st.st_ino)
    return _Plan(output, target, identity, ownership, fill=target.resolve() == Path.cwd().resolve())


class _Signals:
    """SIGINT/SIGTERM/SIGHUP raise Interrupted, except while the result is being moved into place:
    then they wait until the move is done. A signal the process ignores (nohup) stays ignored."""

    def __init__(self) -> None:
        self.deferred: int | None = None
        self.holding = False
        self.previous: dict[int, object] = {}

    def _handle(self, signo: int, _frame) -> None:
        if self.holding:
            self.deferred = signo
            return
        raise Interrupted(signo)

    def __enter__(self) -> "_Signals":
        if threading.current_thread() is threading.main_thread():
            for signo in HANDLED_SIGNALS:
                if signal.getsignal(signo) is not signal.SIG_IGN:
                    self.previous[signo] = signal.signal(signo, self._handle)
        return self

    def __exit__(self, *_exc) -> None:
        for signo, handler in self.previous.items():
            signal.signal(signo, handler)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False


@contextmanager
def _parent_lock(directory: Path) -> Iterator[None]:
    """Serialises the final step of concurrent scaffold runs into the same directory (DIR's parent).
    The lock is on the directory itself, so no lock file is left behind."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _make_parents(target: Path, created: list[Path]) -> None:
    """Create DIR's missing parents, appending each one this run made (to remove on failure) as
    soon as it exists, so a failure halfway still removes the first ones."""
    for parent in [p for p in reversed(target.parents) if not os.path.lexists(p)]:
        try:
            parent.mkdir()
        except FileExistsError:
            continue  # another process made it: not ours to remove
        created.append(parent)


def _lost_race(p: _Plan) -> OutputExistsError:
    return OutputExistsError(f"{p.output} was created or changed by someone else while scaffold ran; it was left "
                             "untouched and this run's result discarded: choose another --output and run again")


def _rename_noreplace(src: Path, dst: Path) -> None:
    """rename(2) that fails with EEXIST instead of replacing dst (Linux renameat2 RENAME_NOREPLACE;
    elsewhere a check just before a plain rename, which the parent lock keeps sound among scaffold runs)."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_noreplace = -100, 1  # <fcntl.h>, <linux/fs.h>
        if renameat2(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):  # EINVAL: this file system lacks the flag
            raise OSError(code, os.strerror(code), str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def _fill(p: _Plan, stage: Path) -> None:
    """Move the staged entries into the existing empty DIR (the current directory, which cannot
    be replaced under the user's shell); on any failure move them back."""
    if any(entry != stage.name for entry in os.listdir(p.target)):
        raise _lost_race(p)
    moved: list[str] = []
    try:
        for entry in sorted(os.listdir(stage)):
            _rename_noreplace(stage / entry, p.target / entry)
            moved.append(entry)
    except OSError as exc:
        for entry in reversed(moved):
            os.rename(p.target / entry, stage / entry)
        if exc.errno == errno.EEXIST:
            raise _lost_race(p) from None
        raise
    stage.rmdir()


def _commit(p: _Plan, stage: Path) -> Path | None:
    """Move stage to DIR under the parent lock; returns the previous DIR (now hidden) to delete."""
    with _parent_lock(p.beside):
        if p.fill:
            _fill(p, stage)
            return None
        try:
            st = os.lstat(p.target)
        except FileNotFoundError:
            st = None
        old = None
        if p.identity is not None:
            # Replace exactly the directory checked at the start, and only if it is still ours.
            if st is None or (st.st_dev, st.st_ino) != p.identity or p.ownership.problem(p.target):
                raise _lost_race(p)
            old = Path(tempfile.mkdtemp(prefix=OLD_PREFIX, dir=p.target.parent))
            os.rename(p.target, old)  # onto the empty directory just made: atomic
        try:
            # rename(2) of a directory replaces only an empty directory: a DIR that filled since
            # the check makes it fail with ENOTEMPTY/EEXIST, and a file or symlink with ENOTDIR.
            os.rename(stage, p.target)
        except OSError as exc:
            if old is not None:
                try:
                    os.rename(old, p.target)
                except OSError:
                    raise OutputExistsError(f"{p.output} was re-created by someone else while scaffold replaced it; "
                                            f"your previous {p.output} is at {old}") from None
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise _lost_race(p) from None
            raise
    return old


def _write_error(exc: OSError, p: _Plan, stage: Path | None) -> OutputWriteError:
    name = Path(exc.filename) if exc.filename is not None else None
    shown, verb = name or p.output, "write"  # a failed write() names no file: DIR is the best we can say
    if name is not None and stage is not None and _is_within(name, stage):
        shown = p.output / name.relative_to(stage)
    elif name is not None and name.parent == p.beside and name.name.startswith(STAGE_PREFIX):
        shown = p.output  # the staging directory is ours, not something the user knows about
    elif name is not None and name not in p.target.parents:
        verb = "use"  # not on DIR's side: an input or a temporary file could not be read or written
    hint = _HINTS.get(exc.errno or 0, "check the path and try again")
    return OutputWriteError(f"cannot {verb} {shown}: {exc.strerror or exc}; {hint}; nothing was left behind")


def _remove_own(stage: Path | None, created: list[Path]) -> Path | None:
    """Remove the staging directory and the parents this run made; return what could not go."""
    if stage is not None:
        shutil.rmtree(stage, ignore_errors=True)
        if os.path.lexists(stage):
            return stage  # e.g. the file system turned read-only: the caller must say so
    for parent in reversed(created):
        try:
            parent.rmdir()
        except OSError:
            pass  # not empty: something else now lives there, not ours to remove
    return None


@contextmanager
def staged(output: Path, *, force: bool, inputs: Iterable[Path], ownership: Ownership) -> Iterator[Path]:
    """Check DIR, yield an empty staging directory beside it, and move it to DIR when the block
    completes; on any failure remove what this run created and leave DIR as it was."""
    try:
        p = plan(output, force=force, inputs=inputs, ownership=ownership)
    except OSError as exc:  # e.g. DIR exists but cannot be listed
        raise OutputExistsError(f"cannot use --output {output}: {exc.filename or output}: {exc.strerror or exc}; "
                                "choose another --output") from None
    created: list[Path] = []
    stage: Path | None = None
    old: Path | None = None
    done = cleaned = False
    with _Signals() as signals:
        try:
            _make_parents(p.target, created)
            stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=p.beside))
            yield stage
            os.chmod(stage, 0o755)
            with signals.held():
                old = _commit(p, stage)
                done = True
                if old is not None:
                    shutil.rmtree(old)
        except OSError as exc:
            if old is not None and done:
                raise OutputWriteError(f"created {p.output} but could not delete the previous copy at {old}: "
                                       f"{exc.strerror or exc}; delete it yourself") from None
            error = _write_error(exc, p, stage)
            cleaned, left = True, _remove_own(stage, created)
            if left is not None:
                error = OutputWriteError(f"{str(error).removesuffix('; nothing was left behind')}; "
                                         f"the unfinished copy at {left} could not be removed: delete it yourself")
            raise error from None
        finally:
            if not done and not cleaned:
                _remove_own(stage, created)
