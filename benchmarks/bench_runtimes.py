"""Runtimes compared in one run on the same inputs: eager PyTorch, the lite interpreter's .ptl and
ExecuTorch's XNNPACK .pte (fp32), on both samples and on torchvision's MobileNetV2 (random
weights, 224x224); then `scaffold new --runtime executorch` against the bare ExecuTorch export.

Every number is measured here, in-process, on the host CPU (median of --runs forward passes after
--warmup ones; the assets are the ones scaffold writes). Targets (issue 8): ExecuTorch at most
0.35x eager on MobileNetV2; `scaffold new --runtime executorch` within 1.5x of the bare export.

    python benchmarks/bench_runtimes.py [--runs 20] [--samples build/samples]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator import versions  # noqa: E402
from generator.loading import LoadedModel  # noqa: E402
from generator.project import new_project  # noqa: E402
from generator.runtimes import executorch as et, lite  # noqa: E402


def _sample(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_model", REPO / f"samples/{name}/model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _with_weights(model: torch.nn.Module, weights: Path) -> torch.nn.Module:
    model.load_state_dict(torch.load(weights, weights_only=True))
    return model.eval()


def models(samples: Path) -> list[tuple[str, torch.nn.Module, int]]:
    import torchvision

    torch.manual_seed(0)
    return [
        ("zebraify (CycleGAN)", _with_weights(_sample("zebraify").build_generator(), samples / "zebraify/weights.pth"), 256),
        ("classifier", _with_weights(_sample("classifier").build_classifier(), samples / "classifier/weights.pth"), 224),
        ("MobileNetV2 (random weights)", torchvision.models.mobilenet_v2().eval(), 224),
    ]


def median_ms(fn, x: torch.Tensor, warmup: int, runs: int) -> float:
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bare_executorch(model: torch.nn.Module, x: torch.Tensor, out: Path) -> None:
    """What a user writes by hand from ExecuTorch's docs: export, lower to XNNPACK, serialize."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    with torch.no_grad():
        ep = torch.export.export(model, (x,))
    program = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()]).to_executorch()
    out.write_bytes(program.buffer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--samples", type=Path, default=REPO / "build/samples")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from executorch.runtime import Runtime

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i, (name, model, size) in enumerate(models(args.samples)):
            x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
            out_dir = tmp / str(i)
            out_dir.mkdir()
            with torch.no_grad():
                eager = median_ms(model, x, args.warmup, args.runs)
                ptl = lite.export(LoadedModel("module", model, name, ""), x, out_dir, "{}")
                lite_module = lite.load_lite(ptl.path)
                t_lite = median_ms(lite_module, x, args.warmup, args.runs)
            pte = et.export(model, x, out_dir, "{}", backends=("xnnpack",))[0]
            forward = Runtime.get().load_program(pte.path).load_method("forward")
            t_et = median_ms(lambda t: forward.execute([t]), x, args.warmup, args.runs)
            param_bytes = sum(p.numel() * p.element_size() for p in model.state_dict().values())
            rows.append((name, size, eager, t_lite, t_et, param_bytes, ptl.size, pte.size))

        # scaffold new --runtime executorch against the bare export of the same model (MobileNetV2).
        factory = tmp / "mnv2.py"
        factory.write_text("import torch, torchvision\n\ndef make():\n    torch.manual_seed(0)\n"
                           "    return torchvision.models.mobilenet_v2().eval()\n")
        import torchvision

        torch.manual_seed(0)
        model = torchvision.models.mobilenet_v2().eval()
        x = torch.rand(1, 3, 224, 224)
        start = time.perf_counter()
        bare_executorch(model, x, tmp / "bare.pte")
        t_bare = time.perf_counter() - start
        start = time.perf_counter()
        result = new_project(name="mnv2", model=f"{factory}:make", output=tmp / "new", task="classification",
                             runtime="executorch", tolerance=1e-3)
        t_new = time.perf_counter() - start
        stages = result.exported.timings

    print(f"host: torch {torch.__version__}, executorch {versions.EXECUTORCH_PIP}, {torch.get_num_threads()} torch threads; "
          f"median of {args.runs} runs after {args.warmup} warm-up")
    head = f"{'model':<30} {'input':>7} {'eager ms':>9} {'lite ms':>8} {'x eager':>7} {'ET ms':>7} {'x eager':>7} " \
           f"{'params B':>10} {'.ptl B':>10} {'.pte B':>10}"
    print(head)
    for name, size, eager, t_lite, t_et, params, ptl, pte in rows:
        print(f"{name:<30} {size:>7} {eager:9.1f} {t_lite:8.1f} {t_lite / eager:7.2f} {t_et:7.1f} {t_et / eager:7.2f} "
              f"{params:>10} {ptl:>10} {pte:>10}")
    mnv2_ratio = rows[-1][4] / rows[-1][2]
    print(f"ExecuTorch / eager on MobileNetV2: {mnv2_ratio:.2f} (target <= 0.35: {mnv2_ratio <= 0.35})")
    print(f"bare ExecuTorch export of MobileNetV2 (torch.export + lower + to_executorch): {t_bare:.1f} s")
    print(f"scaffold new --runtime executorch, same model, android+ios: {t_new:.1f} s = {t_new / t_bare:.2f}x bare "
          f"(target <= 1.5: {t_new / t_bare <= 1.5})")
    print("stages of that scaffold new: " + ", ".join(f"{k} {v:.1f}s" for k, v in stages.items()))


if __name__ == "__main__":
    main()
