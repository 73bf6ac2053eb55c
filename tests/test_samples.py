"""The demo models under samples/: architecture, data, training determinism, TorchScript."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _load(sample: str, name: str):
    """Import samples/<sample>/<name>.py. samples/ is not a package and both samples have a
    model.py and a train.py, so each gets a module name of its own, and its directory is put on
    sys.path only while it imports (train.py imports its neighbours by their plain names)."""
    directory = SAMPLES / sample
    saved_path = list(sys.path)
    # Neighbours of the other sample with the same plain name must not be picked up.
    plain = ("model", "scenes", "shapes", "train")
    saved_modules = {m: sys.modules.pop(m) for m in plain if m in sys.modules}
    sys.path.insert(0, str(directory))
    try:
        spec = importlib.util.spec_from_file_location(
            f"samples_{sample}_{name}", directory / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: dataclasses look their module up while the class is built.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved_path
        for m in plain:
            sys.modules.pop(m, None)
        sys.modules.update(saved_modules)


@pytest.fixture(scope="module")
def zebra_model():
    return _load("zebraify", "model")


@pytest.fixture(scope="module")
def zebra_scenes():
    return _load("zebraify", "scenes")


@pytest.fixture(scope="module")
def zebra_train():
    return _load("zebraify", "train")


@pytest.fixture(scope="module")
def classifier_train():
    return _load("classifier", "train")


@pytest.fixture(scope="module")
def classifier_model():
    return _load("classifier", "model")


# ---------------------------------------------------------------------------------------------
# zebraify: the generator


def _book_keys(ngf: int = 64, n_blocks: int = 9, in_nc: int = 3, out_nc: int = 3) -> dict:
    """The horse2zebra_0.4.0.pth state-dict layout, written from the book's layer list: every
    layer takes one index of `model`, only convolutions own parameters."""
    keys: dict[str, tuple[int, ...]] = {}
    index = 0

    def conv(cin: int, cout: int, k: int, prefix: str = "model", transposed: bool = False) -> None:
        name = f"{prefix}.{index}"
        # ConvTranspose2d stores its weight as (in, out, k, k).
        keys[f"{name}.weight"] = (cin, cout, k, k) if transposed else (cout, cin, k, k)
        keys[f"{name}.bias"] = (cout,)

    def skip(n: int = 1) -> None:
        nonlocal index
        index += n

    skip()  # ReflectionPad2d(3)
    conv(in_nc, ngf, 7)
    skip(3)  # conv, InstanceNorm2d, ReLU
    for m in (1, 2):
        conv(ngf * m, ngf * m * 2, 3)
        skip(3)
    dim = ngf * 4
    for _ in range(n_blocks):
        # conv_block: pad, conv, norm, relu, pad, conv, norm
        for j in (1, 5):
            keys[f"model.{index}.conv_block.{j}.weight"] = (dim, dim, 3, 3)
            keys[f"model.{index}.conv_block.{j}.bias"] = (dim,)
        skip()
    for m in (4, 2):
        conv(ngf * m, ngf * m // 2, 3, transposed=True)
        skip(3)
    skip()  # ReflectionPad2d(3)
    conv(ngf, out_nc, 7)
    return keys


def test_book_key_layout_matches_the_brief_by_hand():
    # A check of the helper itself against indices listed in the book's description.
    keys = _book_keys()
    for k in ("model.1.weight", "model.4.bias", "model.7.weight", "model.10.conv_block.1.weight",
              "model.10.conv_block.5.bias", "model.18.conv_block.5.weight", "model.19.weight",
              "model.22.weight", "model.26.weight", "model.26.bias"):
        assert k in keys
    assert keys["model.19.weight"] == (256, 128, 3, 3)
    assert keys["model.26.weight"] == (3, 64, 7, 7)
    assert len(keys) == 2 * 3 + 4 * 9 + 2 * 2 + 2


def test_book_generator_state_dict_is_the_books(zebra_model):
    net = zebra_model.build_book_generator()
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert got == _book_keys()
    assert not list(net.buffers()), "instance norms must have no running stats"
    assert not net.training
    # A file with exactly the book's keys loads strictly.
    fake = {k: torch.full(shape, 0.01) for k, shape in _book_keys().items()}
    net.load_state_dict(fake, strict=True)


def test_demo_generator_defaults_and_io(zebra_model):
    net = zebra_model.build_generator()
    assert not net.training
    assert net.ngf == zebra_model.DEMO_NGF
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == _book_keys(
        zebra_model.DEMO_NGF, zebra_model.DEMO_BLOCKS
    )
    n_bytes = sum(p.numel() * p.element_size() for p in net.parameters())
    assert n_bytes >= 5_000_000, "the export-size benchmark needs a few MB of parameters"
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert float(y.abs().max()) <= 1.0


def test_generator_rejects_bad_sizes(zebra_model):
    with pytest.raises(ValueError):
        zebra_model.ResNetGenerator(ngf=0)
    with pytest.raises(ValueError):
        zebra_model.ResNetGenerator(n_blocks=-1)


# ---------------------------------------------------------------------------------------------
# zebraify: the scenes


def test_draw_pair_is_deterministic(zebra_scenes):
    a_in, a_out = zebra_scenes.draw_pair(np.random.default_rng(7), 96)
    b_in, b_out = zebra_scenes.draw_pair(np.random.default_rng(7), 96)
    c_in, _ = zebra_scenes.draw_pair(np.random.default_rng(8), 96)
    assert a_in.mode == a_out.mode == "RGB" and a_in.size == (96, 96)
    assert a_in.tobytes() == b_in.tobytes()
    assert a_out.tobytes() == b_out.tobytes()
    assert a_in.tobytes() != c_in.tobytes()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_target_differs_only_on_the_horse(zebra_scenes, seed):
    scene = zebra_scenes.random_scene(np.random.default_rng(seed))
    x, y = zebra_scenes.render_pair(scene, 128)
    x, y = np.asarray(x).astype(int), np.asarray(y).astype(int)
    horse = zebra_scenes.horse_mask(scene, 128) > 0
    changed = (x != y).any(axis=2)
    assert changed.any()
    assert not (changed & ~horse).any(), "pixels off the horse must be the same in both"
    # On the horse the target is black and white: both extremes are present and far apart.
    grey = y[horse & changed].mean(axis=1)
    assert grey.min() < 60 and grey.max() > 200
    # ...while the input is a mid brown there, not black and white.
    x_grey = x[(zebra_scenes.horse_mask(scene, 128) == 1)].mean(axis=1)
    assert 40 < np.median(x_grey) < 160


def test_sample_image(zebra_scenes):
    a = zebra_scenes.sample_image(128)
    assert a.mode == "RGB" and a.size == (128, 128)
    assert a.tobytes() == zebra_scenes.sample_image(128).tobytes()
    assert zebra_scenes.sample_image().size == (256, 256)


# ---------------------------------------------------------------------------------------------
# zebraify: training and export


def _settings():
    return torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()


@pytest.fixture(scope="module")
def zebra_runs(zebra_train, tmp_path_factory):
    outs = []
    for i in range(2):
        out = tmp_path_factory.mktemp(f"zebra{i}")
        before = _settings()
        stats = zebra_train.train(out, steps=3, size=64, pool=4, log=lambda *_: None)
        stats["settings_before_after"] = (before, _settings())
        outs.append((out, stats))
    return outs


def test_zebra_train_writes_files(zebra_runs):
    out, stats = zebra_runs[0]
    for name in ("weights.pth", "cyclegan.pt", "horse.png"):
        assert (out / name).stat().st_size > 0, name
    from PIL import Image

    with Image.open(out / "horse.png") as im:
        assert im.format == "PNG" and im.mode == "RGB" and im.size == (64, 64)
    assert np.isfinite(stats["held_out_l1"]) and stats["identity_l1"] > 0


def test_zebra_train_is_deterministic(zebra_runs):
    (a, _), (b, _) = zebra_runs
    assert (a / "weights.pth").read_bytes() == (b / "weights.pth").read_bytes()
    assert (a / "horse.png").read_bytes() == (b / "horse.png").read_bytes()


def test_zebra_train_restores_torch_settings(zebra_runs):
    # train() pins threads and deterministic algorithms for itself only: tests share a process.
    before, after = zebra_runs[0][1]["settings_before_after"]
    assert before == after


def test_zebra_weights_and_torchscript_agree(zebra_model, zebra_runs):
    out, _ = zebra_runs[0]
    net = zebra_model.build_generator()
    net.load_state_dict(torch.load(out / "weights.pth", weights_only=True), strict=True)
    # Training moved the weights away from a fresh model's.
    fresh = zebra_model.build_generator().state_dict()
    assert any(not torch.equal(fresh[k], v) for k, v in net.state_dict().items())
    scripted = torch.jit.load(str(out / "cyclegan.pt"))
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (scripted(x) - net(x)).abs().max().item()
    assert diff < 1e-5


# ---------------------------------------------------------------------------------------------
# classifier


def test_classifier_labels_and_model(classifier_model):
    labels = (SAMPLES / "classifier" / "labels.txt").read_text(encoding="utf-8").split()
    assert 5 <= len(labels) <= 8 and len(set(labels)) == len(labels)
    net = classifier_model.build_classifier()
    assert not net.training
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 96, 96)).shape == (1, len(labels))


def test_shapes_deterministic_and_labelled():
    shapes = _load("classifier", "shapes")
    a = [shapes.draw_example(np.random.default_rng(3), 64) for _ in range(2)]
    assert a[0][0].tobytes() == a[1][0].tobytes() and a[0][1] == a[1][1]
    rng = np.random.default_rng(0)
    seen = {shapes.draw_example(rng, 32)[1] for _ in range(200)}
    assert seen == set(range(len(shapes.LABELS)))
    s = shapes.sample_image(96)
    assert s.mode == "RGB" and s.size == (96, 96)


@pytest.fixture(scope="module")
def classifier_runs(classifier_train, tmp_path_factory):
    outs = []
    for i in range(2):
        out = tmp_path_factory.mktemp(f"classifier{i}")
        stats = classifier_train.train(out, steps=3, size=64, batch=8, log=lambda *_: None)
        outs.append((out, stats))
    return outs


def test_classifier_train_writes_files_deterministically(classifier_runs):
    (a, stats), (b, _) = classifier_runs
    for name in ("classifier.pt", "weights.pth", "labels.txt", "sample.png"):
        assert (a / name).stat().st_size > 0, name
    assert (a / "labels.txt").read_bytes() == (SAMPLES / "classifier" / "labels.txt").read_bytes()
    for name in ("weights.pth", "sample.png"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert 0.0 <= stats["held_out_accuracy"] <= 1.0


def test_classifier_weights_and_torchscript_agree(classifier_model, classifier_runs):
    out, _ = classifier_runs[0]
    net = classifier_model.build_classifier()
    net.load_state_dict(torch.load(out / "weights.pth", weights_only=True), strict=True)
    scripted = torch.jit.load(str(out / "classifier.pt"))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got = net(x), scripted(x)
    assert got.shape == want.shape == (1, classifier_model.NUM_CLASSES)
    assert (got - want).abs().max().item() < 1e-5


# detector


def test_detector_model_and_scenes():
    model = _load("detector", "model")
    scenes = _load("detector", "scenes")
    labels = (SAMPLES / "detector" / "labels.txt").read_text(encoding="utf-8").split()
    assert labels == scenes.LABELS and model.NUM_CLASSES == len(labels)
    net = model.build_detector()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 64, 64))
    assert out.shape == (1, 64, 5 + len(labels))
    # Centers inside their cells, sizes within the picture, probabilities that sum to 1.
    assert (out[..., :4] >= 0).all() and (out[..., :4] <= 64).all()
    torch.testing.assert_close(out[..., 5:].sum(-1), torch.ones(1, 64))
    a = [scenes.draw_scene(np.random.default_rng(3), 64) for _ in range(2)]
    assert a[0][0].tobytes() == a[1][0].tobytes() and np.array_equal(a[0][1], a[1][1])
    rng = np.random.default_rng(0)
    for _ in range(50):
        img, rows = scenes.draw_scene(rng, 64)
        assert 1 <= len(rows) <= 3 and (rows[:, 1:] >= 0).all() and (rows[:, 1:] <= 64).all()
    sample, rows = scenes.sample_image(64)
    assert sample.size == (64, 64) and sorted(rows[:, 0].astype(int).tolist()) == [0, 1, 2]


@pytest.fixture(scope="module")
def detector_runs(tmp_path_factory):
    train = _load("detector", "train")
    outs = []
    for i in range(2):
        out = tmp_path_factory.mktemp(f"detector{i}")
        outs.append((out, train.train(out, steps=3, scenes=16, held_out=8, log=lambda *_: None)))
    return outs


def test_detector_train_writes_files_deterministically(detector_runs):
    (a, stats), (b, _) = detector_runs
    for name in ("detector.pt", "weights.pth", "labels.txt", "sample.png"):
        assert (a / name).stat().st_size > 0, name
    for name in ("weights.pth", "sample.png", "labels.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert 0.0 <= stats["recall"] <= 1.0 and 0.0 <= stats["precision"] <= 1.0
    model = _load("detector", "model")
    net = model.build_detector()
    net.load_state_dict(torch.load(a / "weights.pth", weights_only=True), strict=True)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (torch.jit.load(str(a / "detector.pt"))(x) - net(x)).abs().max().item() < 1e-5
