"""--task detection: options, metadata, the pipeline's goldens against torchvision, the
generated project's checks (and that they fail when the numbers are wrong)."""

import numpy as np
import pytest
import torch
from torchvision.ops import box_convert, nms

from conftest import TinyBoxes, TinyDetector, run_cli, save_detector
from generator import goldens, metadata as md, record
from generator.errors import UsageError
from generator.project import check_project, new_project
from generator.verify import first_tensor


def _failed(report):
    return [f"{c.scope}: {c.name}: {c.detail}" for c in report.failures]


def test_detection_is_never_guessed_and_needs_a_detector_shape():
    with pytest.raises(UsageError, match="pass --task"):
        md.detect_task((1, 64, 8), None)
    assert md.detect_task((1, 64, 8), "detection") == "detection"
    assert md.detect_task((5, 6), "detection") == "detection"
    for shape in ((1, 10), (1, 64, 5), (1, 3, 8, 8)):
        with pytest.raises(UsageError, match=r"1xNx\(5\+C\)"):
            md.detect_task(shape, "detection")


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(score_threshold=1.5), "--score-threshold 1.5 is outside 0..1"),
    (dict(iou_threshold=-0.1), "--iou-threshold -0.1 is outside 0..1"),
    (dict(iou_threshold=float("nan")), "--iou-threshold nan is outside 0..1"),
    (dict(box_units="inches"), "--box-units 'inches' is unknown"),
    (dict(scores="percent"), "--scores 'percent' is unknown"),
])
def test_bad_detection_options(kwargs, fragment):
    options = dict(box_units=None, scores=None, score_threshold=None, iou_threshold=None) | kwargs
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        md.detection_spec(output_shape=(1, 64, 8), **options)


def test_detection_metadata_round_trips_and_defaults():
    spec = md.detection_spec(output_shape=(1, 64, 8), box_units="normalized", scores="logits",
                             score_threshold=0.5, iou_threshold=0.6)
    meta = md.describe(task="detection", input_size=(64, 64), mean=(0, 0, 0), std=(1, 1, 1), output_shape=(1, 64, 8),
                       output_range=None, labels=None, detection=spec)
    assert meta.num_classes == 3 and meta.labels == ("class 0", "class 1", "class 2") and len(meta.palette) == 3
    assert (0, 0, 0) not in meta.palette  # every class is an object
    data = md.read_embedded(meta.to_json("test"))
    assert data["detection"] == {"layout": "yolo", "box_units": "normalized", "scores": "logits",
                                 "score_threshold": 0.5, "iou_threshold": 0.6, "max_detections": 100}
    assert md.Metadata.from_embedded(data) == meta
    boxes = md.detection_spec(output_shape=(7, 6), box_units=None, scores=None, score_threshold=None, iou_threshold=None)
    assert (boxes.layout, boxes.box_units, boxes.scores, boxes.score_threshold, boxes.iou_threshold) == (
        "boxes", "pixels", "probabilities", 0.25, 0.45)
    with pytest.raises(UsageError, match="does not apply"):
        md.detection_spec(output_shape=(7, 6), box_units=None, scores="logits", score_threshold=None, iou_threshold=None)
    with pytest.raises(UsageError, match="2 labels but the model scores 3 classes"):
        md.describe(task="detection", input_size=(64, 64), mean=(0, 0, 0), std=(1, 1, 1), output_shape=(1, 64, 8),
                    output_range=None, labels=("a", "b"), detection=spec)


def test_torchvision_style_outputs_are_packed():
    torch.manual_seed(0)
    model = TinyBoxes().eval()
    with torch.no_grad():
        boxes, scores, labels = model(torch.rand(1, 3, 32, 32))
        packed = first_tensor(model(torch.rand(1, 3, 32, 32)), "m")
    assert packed.shape == (16, 6) and packed.dtype == torch.float32
    batched = first_tensor((boxes[None], scores[None], labels[None]), "m")
    assert torch.equal(batched, first_tensor((boxes, scores, labels), "m"))
    assert torch.equal(batched[:, 5], labels.float())
    # Two tensors, or mismatched lengths, are not a detection: the first tensor, as before.
    assert first_tensor((boxes, scores), "m").shape == (16, 4)
    assert first_tensor((boxes, scores[:3], labels), "m").shape == (16, 4)


@pytest.mark.parametrize("units, scores", [("pixels", "probabilities"), ("normalized", "logits")])
def test_goldens_follow_torchvision(units, scores):
    rng = np.random.default_rng(1)
    raw = rng.uniform(0, 1, (1, 30, 7)).astype(np.float32)
    raw[0, :, 2:4] *= 0.5
    if scores == "logits":
        raw[0, :, 4:] = rng.normal(0, 2, (30, 3))
    spec = md.DetectionSpec(layout="yolo", box_units=units, scores=scores, score_threshold=0.2, iou_threshold=0.3)
    meta = md.describe(task="detection", input_size=(40, 20), mean=(0, 0, 0), std=(1, 1, 1), output_shape=raw.shape,
                       output_range=None, labels=None, detection=spec)
    decoded = goldens.decode_detections(raw, meta)
    t = torch.from_numpy(raw[0])
    boxes = box_convert(t[:, :4], "cxcywh", "xyxy")
    if units == "normalized":
        boxes = boxes * torch.tensor([40.0, 20.0, 40.0, 20.0])
    probs = torch.sigmoid(t[:, 4:]) if scores == "logits" else t[:, 4:]
    best, label = probs[:, 1:].max(1)
    assert torch.equal(torch.from_numpy(decoded[:, :4]), boxes)
    torch.testing.assert_close(torch.from_numpy(decoded[:, 4]), probs[:, 0] * best)
    assert np.array_equal(decoded[:, 5], label.numpy().astype(np.float32))
    keep = goldens.select_detections(decoded, meta)
    candidates = torch.nonzero(torch.from_numpy(decoded[:, 4]) >= 0.2).flatten()
    expected = candidates[nms(boxes[candidates], torch.from_numpy(decoded[candidates, 4]), 0.3)]
    assert keep.tolist() == expected.tolist() and len(keep) > 1


def test_options_apply_only_to_detection(tmp_path):
    model = save_detector(tmp_path / "det.pt")
    proc = run_cli("new", "det", "--model", str(model), "--score-threshold", "0.5", "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--score-threshold only applies to --task detection" in proc.stderr
    proc = run_cli("new", "det", "--model", str(model), "--task", "detection", "--iou-threshold", "2",
                   "--output", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--iou-threshold 2.0 is outside 0..1" in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind, api", [("yolo", "native"), ("boxes", "java")])
def test_detector_projects_check_and_catch_wrong_goldens(tmp_path, kind, api):
    model = save_detector(tmp_path / f"{kind}.pt", kind)
    result = new_project(name="det", model=model, output=tmp_path / "det", input_size="32x32", task="detection",
                         score_threshold=0.3, iou_threshold=0.5, android_api=api)
    _, meta, _ = record.load(result.output)
    assert meta.detection.layout == kind and meta.detection.score_threshold == 0.3
    golden = result.output / "android/app/src/test/resources/golden"
    keep = np.frombuffer((golden / "nms_keep.bin").read_bytes(), "<i4")
    assert len(keep) >= 2, "the sample should keep a few boxes for the test to mean something"
    report = check_project(result.output)
    assert report.ok, _failed(report)
    scopes = {"android", "ios"} if api == "native" else {"ios"}
    assert {c.scope for c in report.checks if c.name.startswith("C++ detection")} == scopes
    if api == "native":
        helpers = next(c for c in report.checks if c.name == "C++ pixel and output helpers match the golden vectors")
        assert "detection" in helpers.detail
    # Drop the last kept box from the golden: the Java NMS test (and the C++ one) must fail.
    (golden / "nms_keep.bin").write_bytes(keep[:-1].astype("<i4").tobytes())
    failed = _failed(check_project(result.output))
    assert any("thresholdAndNmsMatchTorchvision" in f for f in failed), failed
    if api == "native":
        assert any("C++ selectDetections keeps" in f and "golden nms_keep.bin has" in f for f in failed), failed
