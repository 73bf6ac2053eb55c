import pytest

from generator import metadata as md
from generator.errors import UsageError


@pytest.mark.parametrize("shape, task", [
    ((1, 10), "classification"), ((1, 3, 32, 32), "image-to-image"), ((1, 21, 32, 32), "segmentation"),
])
def test_task_is_detected_from_unambiguous_shapes(shape, task):
    assert md.detect_task(shape, None) == task


@pytest.mark.parametrize("shape", [(1, 1, 32, 32), (1, 32, 32), (4, 10), (1, 1)])
def test_ambiguous_shapes_ask_for_task(shape):
    with pytest.raises(UsageError, match="pass --task"):
        md.detect_task(shape, None)


def test_one_channel_in_and_out_is_a_luma_image_model():
    assert md.detect_task((1, 1, 96, 96), None, input_channels=1) == "image-to-image"
    assert md.detect_task((1, 1, 96, 96), "image-to-image", input_channels=1) == "image-to-image"
    with pytest.raises(UsageError, match="1x3xHxW"):
        md.detect_task((1, 1, 96, 96), "image-to-image")
    with pytest.raises(UsageError, match="1x1xHxW"):
        md.detect_task((1, 3, 96, 96), "image-to-image", input_channels=1)


def test_explicit_task_is_checked_against_the_shape():
    assert md.detect_task((1, 32, 32), "tensor") == "tensor"
    assert md.detect_task((1, 3, 8, 8), "segmentation") == "segmentation"
    with pytest.raises(UsageError, match="needs an output of shape 1xK"):
        md.detect_task((1, 3, 8, 8), "classification")
    with pytest.raises(UsageError, match="unknown"):
        md.detect_task((1, 3), "pose")
    with pytest.raises(UsageError, match="--task detection needs an output of shape"):
        md.detect_task((1, 3), "detection")


@pytest.mark.parametrize("text", ["256", "256x", "axb", "0x10", "10x5000", "-1x4"])
def test_bad_input_sizes(text):
    with pytest.raises(UsageError, match="--input-size"):
        md.parse_size(text)


def test_sizes_and_triples_parse():
    assert md.parse_size("320X240") == (320, 240)
    assert md.parse_floats("0.5,0.5,0.5", "--mean", 3) == (0.5, 0.5, 0.5)
    with pytest.raises(UsageError, match="--mean"):
        md.parse_floats("0.5,0.5", "--mean", 3)
    with pytest.raises(UsageError, match="must be positive"):
        md.parse_std("1,0,1")
    with pytest.raises(UsageError, match="LOW < HIGH"):
        md.parse_range("1,-1")


def test_output_range_prefers_flag_then_activation_then_values():
    assert md.output_range_for("image-to-image", (0.0, 2.0), "Tanh", (0, 1))[0] == (0.0, 2.0)
    assert md.output_range_for("image-to-image", None, "Tanh", (0, 1))[0] == (-1.0, 1.0)
    assert md.output_range_for("image-to-image", None, "Sigmoid", (-3, 1))[0] == (0.0, 1.0)
    assert md.output_range_for("image-to-image", None, None, (-0.7, 0.9))[0] == (-1.0, 1.0)
    assert md.output_range_for("image-to-image", None, None, (0, 200))[0] == (0.0, 255.0)
    assert md.output_range_for("classification", None, None, (0, 1))[0] is None


def test_output_range_from_values_that_overshoot():
    # A trained style-transfer net: nominally 0..255, overshooting to -23..316.
    values = [-23.0, 0.0, 40.0, 128.0, 200.0, 255.0, 316.0] + [120.0] * 93
    rng, reason = md.output_range_for("image-to-image", None, None, values)
    assert rng == (0.0, 255.0) and "fit none of" in reason and "-23..316" in reason
    warning = md.clamp_warning(values, rng)
    assert warning is not None and "2.0% of the sample's output values fall outside 0..255" in warning
    # A slight undershoot stays in 0..1; a clear one means -1..1.
    assert md.output_range_for("image-to-image", None, None, (-0.03, 0.98))[0] == (0.0, 1.0)
    assert md.output_range_for("image-to-image", None, None, (-0.3, 0.98))[0] == (-1.0, 1.0)
    assert md.clamp_warning([0.0, 0.5, 1.0], (0.0, 1.0)) is None


def test_style_transfer_range_is_noted_in_the_summary(tmp_path):
    import torch

    class Overshoot(torch.nn.Module):
        def forward(self, x):
            return x * 339.0 - 23.0

    path = tmp_path / "style.pt"
    torch.jit.save(torch.jit.trace(Overshoot(), torch.rand(1, 3, 8, 8)), str(path))
    from generator.project import new_project

    result = new_project(name="style", model=path, output=tmp_path / "style", input_size="16x16", platforms=("android",))
    assert result.exported.meta.output_range == (0.0, 255.0)
    assert any(n.startswith("output range 0..255: values -23..316 on the sample") for n in result.notes), result.notes
    assert any(n.startswith("warning:") and "clamped" in n for n in result.notes), result.notes


def test_labels_must_match_class_count(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n\n")
    assert md.read_labels(labels) == ("cat", "dog")
    with pytest.raises(UsageError, match="2 labels but the model outputs 3"):
        md.describe(task="classification", input_size=(8, 8), mean=(0, 0, 0), std=(1, 1, 1),
                    output_shape=(1, 3), output_range=None, labels=("cat", "dog"))
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(UsageError, match="empty"):
        md.read_labels(tmp_path / "empty.txt")


def test_palette_is_stable_and_distinct():
    pal = md.default_palette(21)
    assert pal == md.default_palette(21) and pal[0] == (0, 0, 0) and len(set(pal)) == 21


def test_embedded_metadata_round_trips():
    meta = md.describe(task="segmentation", input_size=(8, 6), mean=(0.1, 0.2, 0.3), std=(1, 2, 3),
                       output_shape=(1, 3, 6, 8), output_range=None, labels=None)
    back = md.Metadata.from_embedded(md.read_embedded(meta.to_json("scaffold test")))
    assert back == meta and back.labels == ("class 0", "class 1", "class 2")
    luma = md.describe(task="image-to-image", input_size=(8, 8), mean=(0, 0, 0), std=(1, 1, 1),
                       output_shape=(1, 1, 24, 24), output_range=(0.0, 1.0), labels=None, input_channels=1)
    data = md.read_embedded(luma.to_json("scaffold test"))
    assert data["format"] == 2 and data["input"]["channels"] == 1
    assert md.Metadata.from_embedded(data) == luma
    del data["input"]["channels"]  # format 1 assets have no channels: RGB
    assert md.Metadata.from_embedded(data).input_channels == 3
