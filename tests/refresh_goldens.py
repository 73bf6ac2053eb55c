"""Rewrite tests/golden/ from the current templates. Review the diff before committing it."""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_cases import CASES, GOLDEN_DIR, rendered  # noqa: E402

if __name__ == "__main__":
    for case in CASES:
        target = GOLDEN_DIR / case
        if target.exists():
            shutil.rmtree(target)
        for rel, data in rendered(case).items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).write_bytes(data)
        print(f"{case}: {len(rendered(case))} files")
