"""--quantize int8, one run: asset size and host latency, float vs int8, for both runtimes.

MobileNetV2 (torchvision, 224x224, random weights) calibrated on synthetic pictures; then the
classifier sample (trained weights) on held-out pictures its own drawing code makes.
Targets: int8 asset >= 3.9x smaller for both runtimes; ExecuTorch int8 faster than ExecuTorch fp32;
classifier top-1 agreement >= 99% on held-out pictures.

    PYTHONPATH=. python benchmarks/bench_quantize.py [--samples build/samples] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator import goldens, qengine, quantize  # noqa: E402
from generator.loading import LoadedModel  # noqa: E402
from generator.metadata import Metadata  # noqa: E402
from generator.project import export_model  # noqa: E402
from generator.runtimes.lite import export as export_lite, load_lite  # noqa: E402

# The benchmark's MobileNetV2 as a factory, so the ExecuTorch rows run `scaffold export` itself.
FACTORY = """
import torch
import torchvision


def build():
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v2(weights=None).eval()
"""


def _latency_ms(run, x, runs: int) -> float:
    run(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def _synthetic_pictures(meta: Metadata, n: int) -> list:
    from PIL import Image

    rng = np.random.default_rng(0)
    pictures = []
    for _ in range(n):
        # Smooth colour fields with noise: closer to photos' activation ranges than white noise.
        base = rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8)
        img = Image.fromarray(base).resize((meta.input_width, meta.input_height), Image.BILINEAR)
        arr = np.clip(np.asarray(img, dtype=np.int16) + rng.integers(-20, 21, (meta.input_height, meta.input_width, 3)), 0, 255)
        pictures.append(Image.fromarray(arr.astype(np.uint8)))
    return pictures


def _synthetic(meta: Metadata, n: int) -> list:
    return [goldens.input_tensor(p, meta) for p in _synthetic_pictures(meta, n)]


def lite_rows(model, meta, fit, x, runs, tmp: Path) -> list[tuple]:
    loaded = LoadedModel("factory", model, "bench", "-")
    f = export_lite(loaded, x, tmp / "f", "{}")
    with qengine.restored():
        qengine.select("qnnpack")
        q = quantize.quantize_lite(model, fit)
        qi = export_lite(LoadedModel("factory", q, "bench", "-"), x, tmp / "q", "{}")
        fl, ql = load_lite(f.path), load_lite(qi.path)
        f_ms, q_ms = _latency_ms(fl, x, runs), _latency_ms(ql, x, runs)
    return [("lite fp32", f.size, f_ms, 1.0, 1.0), ("lite int8", qi.size, q_ms, f.size / qi.size, f_ms / q_ms)]


def et_rows(meta: Metadata, x, runs: int, tmp: Path) -> tuple[list[tuple], dict]:
    """`scaffold export --runtime executorch` with and without --quantize int8 (the pipeline's own
    quantize_executorch, lowering, agreement and device tolerance), then both .pte timed."""
    from executorch.runtime import Runtime

    factory = tmp / "mobilenet.py"
    factory.write_text(FACTORY)
    cal = tmp / "cal"
    cal.mkdir()
    for i, picture in enumerate(_synthetic_pictures(meta, 16)):
        picture.save(cal / f"p{i:02d}.png")
    common = dict(model=f"{factory}:build", input_size="224x224", runtime="executorch")
    f = export_model(output=tmp / "ef", **common)
    # This random-weight MobileNetV2's logits are about 1e-9, below one int8 output step: the int8
    # output is all ties, so the agreement is reported, not held to a minimum.
    q = export_model(output=tmp / "eq", quantize_scheme="int8", calibration=cal, min_agreement=0.0, **common)
    rt = Runtime.get()
    fm = rt.load_program(f.asset).load_method("forward")
    qm = rt.load_program(q.asset).load_method("forward")
    f_ms = _latency_ms(lambda t: fm.execute([t]), x.contiguous(), runs)
    q_ms = _latency_ms(lambda t: qm.execute([t]), x.contiguous(), runs)
    f_size, q_size = f.asset.stat().st_size, q.asset.stat().st_size
    return ([("executorch fp32", f_size, f_ms, 1.0, 1.0), ("executorch int8", q_size, q_ms, f_size / q_size, f_ms / q_ms)],
            q.quantization)


def _classifier(samples: Path) -> tuple:
    """The trained classifier sample, 32 calibration and 200 held-out pictures its drawing code makes."""
    sys.path.insert(0, str(REPO / "samples" / "classifier"))
    import shapes
    from model import build_classifier

    model = build_classifier()
    model.load_state_dict(torch.load(samples / "classifier" / "weights.pth", weights_only=True))
    model.eval()
    meta = Metadata("classification", 96, 96, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (1, 6))
    rng = np.random.default_rng(7)
    drawn = [shapes.draw_example(rng, 96) for _ in range(232)]
    xs = [goldens.input_tensor(img, meta) for img, _ in drawn]
    return model, meta, xs[:32], xs[32:], [k for _, k in drawn[32:]]


def classifier_agreement_executorch(samples: Path, tmp: Path) -> tuple[float, int, int]:
    """The pipeline's functions on the same pictures: quantize_executorch, the XNNPACK lowering,
    the .pte run by ExecuTorch's host runtime, quantize.measure and kernel_spread."""
    from generator.runtimes import executorch as et

    model, meta, fit, held, _ = _classifier(samples)
    program = quantize.quantize_executorch(model, fit[0], fit)
    [asset] = et.export(program, fit[0], tmp, "{}")
    with torch.no_grad():
        ref = [model(x).numpy() for x in held]
        emulated = [program.module()(x).numpy() for x in held]
    out = [et.verify(asset.path, x).numpy() for x in held]
    steps = quantize.kernel_spread(emulated, out, quantize.executorch_output_step(program))
    return quantize.measure(meta, ref, out).value, len(held), steps


def classifier_agreement(samples: Path) -> tuple[float, int, str]:
    model, meta, fit, held, truth = _classifier(samples)
    with qengine.restored():
        qengine.select("qnnpack")
        q = quantize.quantize_lite(model, fit)
        with torch.no_grad():
            ref = [model(x).numpy() for x in held]
            out = [q(x).numpy() for x in held]
    # Near ties in the float model flip under any perturbation: say how many there are.
    top2 = np.sort(np.concatenate(ref), axis=1)[:, -2:]
    gaps = top2[:, 1] - top2[:, 0]
    accuracy = np.mean([r.argmax() == k for r, k in zip(ref, truth)])
    float_line = (f"float model: accuracy {accuracy:.3f}; top-2 logit gap under 0.1 on {int((gaps < 0.1).sum())}, "
                  f"under 0.25 on {int((gaps < 0.25).sum())} of them")
    return quantize.measure(meta, ref, out).value, len(held), float_line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("SCAFFOLD_SAMPLES", REPO / "build" / "samples")))
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(weights=None).eval()
    meta = Metadata("classification", 224, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (1, 1000))
    fit = _synthetic(meta, 16)
    x = fit[0]
    with tempfile.TemporaryDirectory() as tmp:
        rows = lite_rows(model, meta, fit, x, args.runs, Path(tmp))
        et, quantization = et_rows(meta, x, args.runs, Path(tmp))
        rows += et
    print("| MobileNetV2 224x224 | asset bytes | host ms (median) | x smaller than fp32 | x faster than fp32 |")
    print("|---|---|---|---|---|")
    for name, size, ms, smaller, faster in rows:
        print(f"| {name} | {size} | {ms:.1f} | {smaller:.2f} | {faster:.2f} |")
    print(f"\nexecutorch int8 (scaffold export): {quantization['summary']}; device tolerance "
          f"{quantization['kernel_spread_steps']} x output step {quantization['output_step']:g}")
    value, n, float_line = classifier_agreement(args.samples)
    print(f"\nclassifier sample: int8 top-1 agreement with float {value:.3f} on {n} held-out pictures (target 0.99); "
          + float_line)
    with tempfile.TemporaryDirectory() as tmp:
        value, n, steps = classifier_agreement_executorch(args.samples, Path(tmp))
    print(f"classifier sample, executorch int8: top-1 agreement with float {value:.3f} on {n} held-out pictures "
          f"(target 0.99); XNNPACK landed up to {steps} output step(s) from the PT2E reference")


if __name__ == "__main__":
    main()
