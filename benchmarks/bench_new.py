"""`scaffold new` on the zebraify sample against the bare minimum, and asset size against parameters.

Prints one table; every number is measured in this run (median of --repeat runs, in-process,
after one warm-up run that also fills the Gradle wrapper cache). Targets: new <= 2x bare,
asset within 1% of the raw parameter bytes.

    python benchmarks/bench_new.py [--repeat 3] [--samples build/samples]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.project import new_project  # noqa: E402


def _sample_module():
    spec = importlib.util.spec_from_file_location("zebraify_model", REPO / "samples/zebraify/model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bare_minimum(weights: Path, out: Path, size: int) -> None:
    """What a user would write by hand: build, load weights, trace, save for the lite interpreter."""
    model = _sample_module().build_generator()
    model.load_state_dict(torch.load(weights, weights_only=True))
    model.eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.rand(1, 3, size, size))
    traced._save_for_lite_interpreter(str(out))


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--samples", type=Path, default=REPO / "build/samples")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sample_dir = args.samples / "zebraify"
    if not (sample_dir / "cyclegan.pt").is_file():
        subprocess.run([sys.executable, str(REPO / "samples/zebraify/train.py"), "--out", str(sample_dir)], check=True)
    cyclegan, weights, horse = sample_dir / "cyclegan.pt", sample_dir / "weights.pth", sample_dir / "horse.png"
    size = 256
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        counter = iter(range(10_000))

        def run_new(model: str, **extra) -> None:
            new_project(name="zebraify", model=model, output=tmp / f"new{next(counter)}", sample_image=horse, **extra)

        bare_minimum(weights, tmp / "warm.ptl", size)
        run_new(str(cyclegan))  # warm-up: imports, Gradle wrapper cache
        t_bare = timed(lambda: bare_minimum(weights, tmp / "bare.ptl", size), args.repeat)
        t_new_ts = timed(lambda: run_new(str(cyclegan)), args.repeat)
        factory = f"{REPO / 'samples/zebraify/model.py'}:build_generator"
        t_new_factory = timed(lambda: run_new(factory, weights=weights), args.repeat)
        t_new_android = timed(lambda: run_new(str(cyclegan), platforms=("android",)), args.repeat)
        result = new_project(name="zebraify", model=str(cyclegan), output=tmp / "final", sample_image=horse)
        asset = result.exported.export.size
        params = sum(t.numel() * t.element_size() for t in torch.jit.load(str(cyclegan)).state_dict().values())
        stages = result.exported.timings

    rows = [
        ("bare minimum: trace + _save_for_lite_interpreter", t_bare, 1.0),
        ("scaffold new, TorchScript input, android+ios", t_new_ts, t_new_ts / t_bare),
        ("scaffold new, factory + weights input, android+ios", t_new_factory, t_new_factory / t_bare),
        ("scaffold new, TorchScript input, android only", t_new_android, t_new_android / t_bare),
    ]
    print(f"zebraify sample, input 1x3x{size}x{size}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"median of {args.repeat}")
    print(f"{'what':<55} {'seconds':>8} {'x bare':>7}")
    for name, secs, ratio in rows:
        print(f"{name:<55} {secs:8.2f} {ratio:7.2f}")
    print("stages of the last scaffold new: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items()))
    print(f"{'asset bytes':<55} {asset:>8}")
    print(f"{'raw parameter bytes':<55} {params:>8}")
    print(f"{'asset / parameters':<55} {asset / params:8.4f}  (target within 1%: {abs(asset / params - 1) <= 0.01})")
    print(f"{'new / bare (TorchScript input)':<55} {t_new_ts / t_bare:8.2f}  (target <= 2: {t_new_ts / t_bare <= 2})")


if __name__ == "__main__":
    main()
