"""Rendered templates against the golden trees; `make goldens` refreshes them after a deliberate change."""

import difflib

import pytest

from golden_cases import CASES, GOLDEN_DIR, rendered


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_tree_matches_golden(case):
    root = GOLDEN_DIR / case
    files = rendered(case)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(on_disk), "file list changed: run `make goldens` and review the diff"
    for rel, data in files.items():
        golden = (root / rel).read_bytes()
        if data != golden:
            diff = "".join(list(difflib.unified_diff(golden.decode(errors="replace").splitlines(True),
                                                     data.decode(errors="replace").splitlines(True), rel, rel))[:40])
            pytest.fail(f"{rel} differs from the golden tree (run `make goldens` if intended):\n{diff}")
