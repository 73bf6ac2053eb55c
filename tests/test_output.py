"""generator/output.py from outside: real processes racing, signals, hostile and careless --output
values, full and read-only disks. Every failure must be one line and leave the tree as it was."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import build, run_cli, save_torchscript, start_cli
from generator import output as output_mod, project as project_mod, record
from generator.errors import OutputExistsError, OutputWriteError

STAGING = ".scaffold-"  # in the name of every staging directory, today's and the old ".NAME.scaffold-*"

FAST = ["--input-size", "16x16", "--task", "classification", "--platforms", "android"]

# A factory whose first forward pass waits for a "go" file: the test acts while the run is busy.
GATED = '''
import os, time, torch

class Gated(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x):
        gate = os.environ.get("GATE_DIR")
        if gate and not os.path.exists(os.path.join(gate, "go")):
            open(os.path.join(gate, "started-%d" % os.getpid()), "w").close()
            deadline = time.monotonic() + 120
            while not os.path.exists(os.path.join(gate, "go")) and time.monotonic() < deadline:
                time.sleep(0.05)
        return self.fc(x.mean((2, 3)))

def make():
    torch.manual_seed(0)
    return Gated().eval()
'''


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below root (hidden ones and symlinks included) with its type, mode and bytes."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(st.st_mode):
                entries[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                entries[rel] = ("dir", st.st_mode & 0o7777)
            else:
                entries[rel] = ("file", st.st_mode & 0o7777, path.read_bytes())
    return entries


def without_staging(entries: dict[str, tuple]) -> dict[str, tuple]:
    """A snapshot taken mid-run, minus the run's own staging directory."""
    return {k: v for k, v in entries.items() if not any(STAGING in part for part in k.split("/"))}


def one_error_line(stderr: str) -> str:
    problems = [line for line in stderr.splitlines() if line and not line.startswith("- ")]
    assert len(problems) == 1 and problems[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return problems[0]


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if STAGING in p.name]


@pytest.fixture
def model(tmp_path):
    return save_torchscript(build("classification"), tmp_path / "model.pt")


@pytest.fixture
def gated(tmp_path):
    """(factory spec, gate directory, env) for runs that wait inside their first forward pass."""
    (tmp_path / "gated.py").write_text(GATED)
    gate = tmp_path / "gate"
    gate.mkdir()
    return f"{tmp_path / 'gated.py'}:make", gate, {"GATE_DIR": str(gate)}


def wait_started(gate: Path, count: int = 1, procs=()) -> None:
    deadline = time.monotonic() + 120
    while len(list(gate.glob("started-*"))) < count:
        for p in procs:
            assert p.poll() is None, p.communicate()
        assert time.monotonic() < deadline, "the gated run never reached the model"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One project made by scaffold; tests copy it (generating costs seconds)."""
    root = tmp_path_factory.mktemp("generated")
    model = save_torchscript(build("classification"), root / "model.pt")
    proc = run_cli("new", "demo", "--model", str(model), "--output", str(root / "proj"), *FAST)
    assert proc.returncode == 0, proc.stderr
    return root / "proj"


def copy_project(generated: Path, dest: Path) -> Path:
    shutil.copytree(generated, dest, symlinks=True)
    return dest


# ---- item 2: DIR filling during the run, two runs racing ----------------------------------------

@pytest.mark.parametrize("start", ["absent", "empty", "empty current directory"])
def test_dir_filled_during_the_run_is_left_alone(tmp_path, gated, start):
    spec, gate, env = gated
    out = tmp_path / "out"
    if start != "absent":
        out.mkdir()
    here = start == "empty current directory"
    proc = start_cli("new", "demo", "--model", spec, "--output", "." if here else str(out), *FAST,
                     cwd=out if here else None, env=env)
    wait_started(gate, procs=[proc])
    out.mkdir(exist_ok=True)
    (out / "theirs.txt").write_text("written by another program")
    before = without_staging(snapshot(tmp_path))
    (gate / "go").touch()
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 5, stderr
    assert "changed by someone else while scaffold ran" in one_error_line(stderr)
    (gate / "go").unlink()
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("force", [False, True])
def test_two_runs_into_the_same_dir_one_wins_one_says_so(tmp_path, gated, generated, force):
    spec, gate, env = gated
    out = tmp_path / "out"
    if force:
        copy_project(generated, out)  # --force may replace it once: not twice, not the other run's result
    extra = ["--force"] if force else []
    procs = [start_cli("new", "demo", "--model", spec, "--output", str(out), *FAST, *extra, env=env) for _ in range(2)]
    wait_started(gate, 2, procs)
    (gate / "go").touch()
    results = [(p.wait(timeout=300), p.communicate()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 5], results
    loser = next(err for code, (_, err) in results if code == 5)
    assert "changed by someone else while scaffold ran" in one_error_line(loser)
    config, _, model_record = record.load(out)
    assert model_record["source"].endswith("gated.py:make")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gate", "gated.py", "out"]


# ---- item 3: what --force may delete ------------------------------------------------------------

def test_force_replaces_a_project_scaffold_generated(tmp_path, generated, model):
    out = copy_project(generated, tmp_path / "proj")
    (out / "android" / "stale.txt").write_text("old")
    proc = run_cli("new", "demo", "--model", str(model), "--output", str(out), *FAST, "--force")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "android" / "stale.txt").exists() and (out / record.FILE_NAME).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "proj"]


def _home_parent(tmp_path, generated):
    home = tmp_path / "users" / "me"
    home.mkdir(parents=True)
    (home / "notes.txt").write_text("mine")
    return tmp_path / "users", {"HOME": str(home)}


def _cwd_parent(tmp_path, generated):
    (tmp_path / "work").mkdir()
    return tmp_path, {}


def _holds_model(tmp_path, generated):
    out = copy_project(generated, tmp_path / "proj")
    shutil.move(tmp_path / "model.pt", out / "export" / "model.pt")
    return out, {"MODEL": str(out / "export" / "model.pt")}


def _holds_model_via_symlink(tmp_path, generated):
    out = copy_project(generated, tmp_path / "proj")
    shutil.move(tmp_path / "model.pt", out / "export" / "model.pt")
    (tmp_path / "model.pt").symlink_to(out / "export" / "model.pt")
    return out, {}


def _holds_labels(tmp_path, generated):
    out = copy_project(generated, tmp_path / "proj")
    (out / "export" / "labels.txt").write_text("a\nb\n")
    return out, {"EXTRA": f"--labels={out / 'export' / 'labels.txt'}"}


def _holds_sample(tmp_path, generated):
    out = copy_project(generated, tmp_path / "proj")
    return out, {"EXTRA": f"--sample-image={out / 'android/app/src/main/assets/sample.png'}"}


def _not_ours(tmp_path, generated):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8")
    return out, {}


def _fake_record(tmp_path, generated):
    out = tmp_path / "proj"
    out.mkdir()
    (out / record.FILE_NAME).write_text("[project]\nname = 'mine'\n")
    return out, {}


def _project_with_git(tmp_path, generated):
    out = copy_project(generated, tmp_path / "proj")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return out, {}


@pytest.mark.parametrize("setup, fragment", [
    (_home_parent, "home directory or holds it"),
    (_cwd_parent, "current directory (not empty) or holds it"),
    (_holds_model, "holds the input"),
    (_holds_model_via_symlink, "holds the input"),
    (_holds_labels, "holds the input"),
    (_holds_sample, "holds the input"),
    (_not_ours, "has no scaffold.toml written by scaffold"),
    (_fake_record, "has no scaffold.toml written by scaffold"),
    (_project_with_git, "holds .git, which scaffold did not write"),
])
def test_force_refuses_and_deletes_nothing(tmp_path, generated, model, setup, fragment):
    out, env = setup(tmp_path, generated)
    model_arg = env.pop("MODEL", str(model))
    extra = [env.pop("EXTRA")] if "EXTRA" in env else []
    before = snapshot(tmp_path)
    proc = run_cli("new", "demo", "--model", model_arg, "--output", str(out), *FAST, *extra, "--force",
                   cwd=tmp_path / "work" if (tmp_path / "work").is_dir() else tmp_path, env=env)
    assert proc.returncode == 5, proc.stderr
    assert fragment in one_error_line(proc.stderr)
    assert snapshot(tmp_path) == before


def test_force_refuses_the_root_and_the_current_directory(tmp_path, model):
    (tmp_path / "x.txt").write_text("x")
    for target in ("/", ".", ".."):
        proc = run_cli("new", "demo", "--model", str(model), "--output", target, "--force", cwd=tmp_path)
        assert proc.returncode == 5 and "refusing --output" in one_error_line(proc.stderr), proc.stderr
    assert (tmp_path / "x.txt").read_text() == "x"


def test_export_force_replaces_only_an_export_directory(tmp_path, model):
    out = tmp_path / "exp"
    args = ["export", "--model", str(model), "--output", str(out), "--input-size", "16x16", "--task", "classification"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert run_cli(*args, "--force").returncode == 0
    (out / "notes.md").write_text("mine")
    before = snapshot(tmp_path)
    proc = run_cli(*args, "--force")
    assert proc.returncode == 5 and "holds notes.md, which scaffold did not write" in one_error_line(proc.stderr)
    assert snapshot(tmp_path) == before


# ---- item 4: nothing left behind ----------------------------------------------------------------

@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_leave_the_tree_as_it_was(tmp_path, gated, signo):
    spec, gate, env = gated
    (tmp_path / "deep").mkdir()
    before = snapshot(tmp_path)
    proc = start_cli("new", "demo", "--model", spec, "--output", str(tmp_path / "deep/a/b/out"), *FAST, env=env)
    wait_started(gate, procs=[proc])
    assert (tmp_path / "deep/a/b").is_dir() and leftovers(tmp_path / "deep/a/b")
    proc.send_signal(signo)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signo, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    for started in gate.glob("started-*"):
        started.unlink()
    assert snapshot(tmp_path) == before


def test_a_failed_run_removes_the_parents_it_created(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"\x00" * 100)
    (tmp_path / "deep").mkdir()
    before = snapshot(tmp_path)
    proc = run_cli("new", "demo", "--model", str(tmp_path / "junk.pt"), "--output", str(tmp_path / "deep/a/b/out"))
    assert proc.returncode == 3
    one_error_line(proc.stderr)
    assert snapshot(tmp_path) == before


# ---- item 5: careless --output values get one line ----------------------------------------------

def _under_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    return "afile/sub/out", "afile is a file, not a directory"


def _name_too_long(tmp_path):
    return "n" * 256, "over the file system's limit of 255"


def _symlink_to_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "link").symlink_to("empty")
    return "link", "is a symbolic link (to empty)"


def _dangling_symlink(tmp_path):
    (tmp_path / "link").symlink_to("nowhere")
    return "link", "is a symbolic link (to nowhere)"


def _dot_in_a_non_empty_dir(tmp_path):
    (tmp_path / "mine.txt").write_text("mine")
    return ".", "current directory (not empty)"


@pytest.mark.parametrize("setup", [_under_file, _name_too_long, _symlink_to_empty, _dangling_symlink, _dot_in_a_non_empty_dir])
@pytest.mark.parametrize("force", [False, True])
def test_bad_output_paths_get_one_line_and_change_nothing(tmp_path, model, setup, force):
    work = tmp_path / "work"
    work.mkdir()
    target, fragment = setup(work)
    before = snapshot(tmp_path)
    proc = run_cli("new", "demo", "--model", str(model), "--output", target, *(["--force"] if force else []), cwd=work)
    assert proc.returncode in (2, 5), proc.stderr
    assert fragment in one_error_line(proc.stderr)
    assert snapshot(tmp_path) == before


def test_output_dot_in_an_empty_directory_fills_it_in_place(tmp_path, model):
    work = tmp_path / "work"
    work.mkdir()
    inode = work.stat().st_ino
    proc = run_cli("new", "demo", "--model", str(model), "--output", ".", *FAST, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert work.stat().st_ino == inode, "the current directory itself must stay (the user's shell is in it)"
    assert (work / record.FILE_NAME).is_file() and not leftovers(work) and not leftovers(tmp_path)
    for extra in ([], ["--force"]):  # now it is not empty: never replaced, even with --force
        again = run_cli("new", "demo", "--model", str(model), "--output", ".", *FAST, *extra, cwd=work)
        assert again.returncode == 5 and "current directory (not empty)" in one_error_line(again.stderr)


def test_a_long_output_name_that_the_file_system_accepts_works(tmp_path, model):
    name = "n" * 245  # the old staging name (".NAME.scaffold-XXXXXXXX") went over NAME_MAX
    proc = run_cli("new", "demo", "--model", str(model), "--output", name, *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / name / record.FILE_NAME).is_file() and not leftovers(tmp_path)


# ---- item 5: full and read-only disks -----------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); "
                    "test_write_errors_in_process covers the same path")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_full_disk_is_one_line_and_leaves_nothing(small_disk, model):
    (small_disk / "keep.txt").write_text("mine")
    # Leave a little room, so the run gets partway (parents, staging, first files) before ENOSPC.
    st = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 48 * 1024))
    before = snapshot(small_disk)
    proc = run_cli("new", "demo", "--model", str(model), "--output", str(small_disk / "deep/out"), *FAST)
    assert proc.returncode == 8, proc.stderr
    line = one_error_line(proc.stderr)
    assert "No space left on device" in line and str(small_disk / "deep/out") in line
    assert snapshot(small_disk) == before


def test_read_only_parent_is_one_line_and_leaves_nothing(small_disk, model):
    (small_disk / "parent").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    before = snapshot(small_disk)
    for target in ("parent/out", "parent/new/out"):
        proc = run_cli("new", "demo", "--model", str(model), "--output", str(small_disk / target), *FAST)
        assert proc.returncode == 8, proc.stderr
        assert "Read-only file system" in one_error_line(proc.stderr)
    assert snapshot(small_disk) == before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_write_errors_in_process(tmp_path, model, monkeypatch, code):
    """The same promise without a mount: an OSError from the write layer mid-run."""
    from typer.testing import CliRunner

    from generator import render
    from generator.cli import app

    real = render.write_bytes
    calls = []

    def failing(path, data, **kw):
        calls.append(path)
        if len(calls) == 5:
            raise OSError(code, os.strerror(code), str(path))
        return real(path, data, **kw)

    monkeypatch.setattr(render, "write_bytes", failing)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(app, ["new", "demo", "--model", str(model), "--output", str(tmp_path / "a/out"), *FAST])
    assert result.exit_code == 8, result.output
    assert os.strerror(code) in result.output and str(tmp_path / "a/out") in result.output
    assert ".scaffold-" not in result.output and "Traceback" not in result.output
    assert snapshot(tmp_path) == before


# ---- item 5: the last resort at the CLI boundary ------------------------------------------------

BUG = "import sys, generator.project as p\np.doctor = lambda: 1 / 0\nfrom generator.cli import main\nsys.argv[0] = 'scaffold'\nmain()\n"


@pytest.mark.parametrize("how", ["plain", "--debug", "SCAFFOLD_DEBUG"])
def test_an_unexpected_error_is_one_line_with_a_bug_report(tmp_path, how):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "SCAFFOLD_DEBUG": "1" if how == "SCAFFOLD_DEBUG" else "0"}
    args = ["--debug", "doctor"] if how == "--debug" else ["doctor"]
    proc = subprocess.run([os.sys.executable, "-c", BUG, *args], capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == 70, proc.stderr
    reports = list((tmp_path / "cache" / "scaffold" / "bug-reports").iterdir())
    assert len(reports) == 1 and "ZeroDivisionError" in reports[0].read_text()
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1 and str(reports[0]) in error_lines[0] and "ZeroDivisionError" in error_lines[0]
    assert ("Traceback" in proc.stderr) == (how != "plain")
    if how == "plain":
        assert proc.stderr.strip() == error_lines[0]


def test_a_signal_during_the_final_move_waits_for_it(tmp_path, generated, monkeypatch):
    """Between moving the old DIR aside and the new one in, Ctrl-C must not strand the old copy."""
    out = copy_project(generated, tmp_path / "proj")
    real_rename = output_mod.os.rename
    renames = []

    def rename_then_signal(src, dst):
        renames.append((src, dst))
        real_rename(src, dst)
        if len(renames) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(output_mod.os, "rename", rename_then_signal)
    try:
        with output_mod.staged(out, force=True, inputs=[], ownership=project_mod._project_ownership()) as stage:
            shutil.copytree(generated, stage, dirs_exist_ok=True)
            (stage / "README.md").write_text("new")
    except KeyboardInterrupt:  # a plain failure, not the end of the pytest session
        pytest.fail("Ctrl-C interrupted the final move")
    assert len(renames) == 2 and (out / "README.md").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_ignored_signals_stay_ignored_and_handlers_are_restored(tmp_path, monkeypatch):
    """Under nohup SIGHUP is ignored: a run must not start dying on it; after a run, the caller's
    handlers are back."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        term = signal.getsignal(signal.SIGTERM)
        with output_mod.staged(tmp_path / "out", force=False, inputs=[], ownership=project_mod.EXPORT_OWNERSHIP) as stage:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not term
            (stage / "x").write_text("x")
        assert signal.getsignal(signal.SIGTERM) is term and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_parent_that_cannot_be_made_halfway_removes_the_ones_made_before(tmp_path, monkeypatch):
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.name == "b":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(OutputWriteError, match=r"cannot write .*/a/b: Read-only file system"):
        with output_mod.staged(tmp_path / "a/b/out", force=False, inputs=[], ownership=project_mod.EXPORT_OWNERSHIP):
            pass
    assert list(tmp_path.iterdir()) == []


def test_disk_turning_read_only_mid_run_is_one_line_naming_the_leftover(small_disk, gated, model):
    """The one failure that cannot clean up after itself must say so, not claim it did."""
    spec, gate, env = gated
    proc = start_cli("new", "demo", "--model", spec, "--output", str(small_disk / "out"), *FAST, env=env)
    wait_started(gate, procs=[proc])
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    (gate / "go").touch()
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 8, stderr
    line = one_error_line(stderr)
    assert "Read-only file system" in line and "could not be removed: delete it yourself" in line
    leftover = leftovers(small_disk)
    assert len(leftover) == 1 and leftover[0] in line and not (small_disk / "out").exists()


@pytest.mark.parametrize("native", [True, False])
def test_rename_noreplace_never_replaces(tmp_path, monkeypatch, native):
    if not native:  # a libc without renameat2: the checked fallback
        monkeypatch.setattr(output_mod.ctypes, "CDLL", lambda *a, **k: object())
    (tmp_path / "src").write_text("new")
    (tmp_path / "dst").write_text("theirs")
    with pytest.raises(FileExistsError):
        output_mod._rename_noreplace(tmp_path / "src", tmp_path / "dst")
    assert (tmp_path / "dst").read_text() == "theirs"
    output_mod._rename_noreplace(tmp_path / "src", tmp_path / "fresh")
    assert (tmp_path / "fresh").read_text() == "new" and not (tmp_path / "src").exists()


def test_an_unlistable_output_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")

    def denied(self):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "iterdir", denied)  # root ignores chmod 000, so say it the other way
    with pytest.raises(OutputExistsError, match="cannot use --output .*: Permission denied"):
        with output_mod.staged(tmp_path / "out", force=True, inputs=[], ownership=project_mod.EXPORT_OWNERSHIP):
            pass
