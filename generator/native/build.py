"""Cached g++ builds shared by every native check: content-hashed cache directories, atomic
products, a lock so parallel checks compile once, and the one-line compiler error."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Sequence

from generator.errors import CheckFailedError
from generator.tools import Gxx, RunResult

CXX_DIR = Path(__file__).resolve().parent.parent / "cxx"
COMPILE_TIMEOUT = 1200  # seconds; one torch-heavy translation unit on a slow 2-core machine
RUN_TIMEOUT = 300


def default_build_dir() -> Path:
    """Per-user cache shared by every `scaffold check`, so the core is compiled once per change."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaffold" / "native"


def _hash(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:20]


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckFailedError(f"{what} missing: cannot read {path} ({exc.strerror})") from None


def _first_error(output: str) -> str:
    for line in output.splitlines():
        if "error" in line:
            return line.strip()
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def _compile(gxx: Gxx, args: list[str], what: str) -> RunResult:
    result = gxx.run(args, timeout=COMPILE_TIMEOUT)
    if result.returncode != 0:
        raise CheckFailedError(f"g++ failed to build {what}: {_first_error(result.output)}")
    return result


def _cached(key_dir: Path, product: str, build) -> Path:
    """Return key_dir/product, building it with build(tmp_path) only if it is not there yet.

    The product is written under a temporary name and renamed, so an interrupted or concurrent
    build never leaves a half-written file that a later run would trust.
    """
    target = key_dir / product
    if target.exists():
        return target
    key_dir.mkdir(parents=True, exist_ok=True)
    with _lock(key_dir / f".{product}.lock"):
        # Parallel checks (pytest -n, two `scaffold check`s) wait for one compile, not run two.
        if target.exists():
            return target
        fd, tmp_name = tempfile.mkstemp(prefix=f".{product}.", dir=key_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        start = time.monotonic()
        try:
            build(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        info = {"seconds": round(time.monotonic() - start, 2), "product": product}
        (key_dir / f"{product}.build.json").write_text(json.dumps(info) + "\n")
    return target


@contextlib.contextmanager
def _lock(path: Path):
    try:
        import fcntl
    except ImportError:  # not POSIX: no waiting, the atomic rename still keeps the cache sound
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_info(artifact: Path) -> dict:
    """How long the cached artifact took to build: {"seconds": ..} (empty if unknown)."""
    path = artifact.parent / f"{artifact.name}.build.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _compiler_identity(gxx: Gxx) -> str:
    exe = gxx.verify()
    return os.path.realpath(exe)


def _define_flags(defines: Sequence[str]) -> list[str]:
    return [f"-D{d}" for d in sorted(defines)]


def isystem_flags(include_dirs: Sequence[Path]) -> list[str]:
    """-isystem for a runtime's headers: warnings inside them are not ours to fix."""
    flags: list[str] = []
    for include in include_dirs:
        flags += ["-isystem", str(include)]
    return flags
