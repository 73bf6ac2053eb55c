"""Super-resolution as image-to-image: an output larger than the input (ESPCN's PixelShuffle), in
RGB and as a luma (Y) model whose apps convert to YCbCr, run on Y and upscale CbCr around it."""

import json
import zipfile

import numpy as np
import pytest

from conftest import run_cli, save_espcn
from generator import goldens, metadata, record
from generator.project import check_project, new_project


def _failed(report):
    return [f"{c.scope}: {c.name}: {c.detail}" for c in report.failures]


def test_luma_model_is_detected_and_checks_pass_on_every_path(tmp_path):
    model = save_espcn(tmp_path / "espcn_y.pt", channels=1)
    result = new_project(name="sr", model=model, output=tmp_path / "sr", input_size="16x16", android_api="native")
    root = result.output
    _, meta, _ = record.load(root)
    assert (meta.task, meta.input_channels, meta.output_shape) == ("image-to-image", 1, (1, 1, 48, 48))
    with zipfile.ZipFile(root / "android/app/src/main/assets/model.ptl") as zf:
        name = next(n for n in zf.namelist() if n.endswith("extra/scaffold.json"))
        embedded = json.loads(zf.read(name))
    assert embedded["format"] == metadata.METADATA_FORMAT == 2 and embedded["input"]["channels"] == 1
    golden = root / "android/app/src/test/resources/golden"
    assert len(goldens.read_floats(golden / "input_chw.bin")) == 16 * 16  # the Y plane only
    assert len(np.frombuffer((golden / "output_argb.bin").read_bytes(), "<i4")) == 48 * 48

    report = check_project(root)
    assert report.ok, _failed(report)
    names = {(c.scope, c.name): c.detail for c in report.checks}
    assert "rgbaToY, rgbaToYcbcr, yToRgba" in names[("android", "C++ pixel and output helpers match the golden vectors")]
    assert ("ios", "C++ yToRgba (Y output + upscaled CbCr) matches the generator's picture") in names
    assert any(c.name.startswith("host unit tests") and c.status == "pass" for c in report.checks)

    # One wrong pixel in the golden picture: the Java test and the C++ check must both notice.
    data = bytearray((golden / "output_argb.bin").read_bytes())
    data[4 * 100] ^= 0x01
    (golden / "output_argb.bin").write_bytes(bytes(data))
    failed = _failed(check_project(root))
    assert any("host unit tests" in f and "outputPictureMatchesPython" in f for f in failed), failed
    assert any("yToRgba differs from golden output_argb.bin (first difference at pixel 100)" in f for f in failed), failed


def test_rgb_model_with_a_larger_output_generates_and_checks(tmp_path):
    model = save_espcn(tmp_path / "espcn_rgb.pt", channels=3)
    proc = run_cli("new", "sr", "--model", str(model), "--input-size", "16x16", "--output", str(tmp_path / "sr"))
    assert proc.returncode == 0, proc.stderr
    _, meta, _ = record.load(tmp_path / "sr")
    assert (meta.task, meta.input_channels, meta.output_shape) == ("image-to-image", 3, (1, 3, 48, 48))
    report = check_project(tmp_path / "sr", run_native=False)
    assert report.ok, _failed(report)


def test_luma_model_with_a_wrong_task_is_refused(tmp_path):
    model = save_espcn(tmp_path / "espcn_y.pt", channels=1)
    proc = run_cli("new", "sr", "--model", str(model), "--input-size", "16x16", "--task", "classification",
                   "--output", str(tmp_path / "sr"))
    assert proc.returncode != 0 and "needs an output of shape 1xK" in proc.stderr
    assert not (tmp_path / "sr").exists()
