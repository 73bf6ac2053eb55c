"""generator/runtimes/executorch.py on tiny models; each export is shared (lowering is slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from generator import runtimes, versions
from generator.errors import ExportError, ModelError, UsageError
from generator.runtimes import executorch as et

ROOT = Path(__file__).resolve().parents[1]
METADATA = json.dumps({"task": "image-to-image", "labels": [f"class {i}" for i in range(300)], "mean": [0.5] * 3})


class TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)

    def forward(self, x):
        return torch.sigmoid(self.bn(torch.relu(self.conv(x))))


class DataDependent(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x - 1


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = TinyNet().eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding matters
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model, torch.rand(1, 3, 8, 8)


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    """All three backends of the tiny model, exported once for the whole module."""
    model, example = tiny
    out = tmp_path_factory.mktemp("et")
    stages: list[str] = []
    assets = et.export(model, example, out, METADATA, backends=["vulkan", "coreml"], progress=stages.append)
    return out, {a.backend: a for a in assets}, stages


def test_registry_names_the_runtime_and_rejects_unknown_ones():
    rt = runtimes.get("executorch")
    assert rt.name == "executorch" and rt.asset_name("vulkan") == "model_vulkan.pte"
    with pytest.raises(UsageError, match="unknown runtime 'tflite'; choose one of: lite, executorch"):
        runtimes.get("tflite")
    with pytest.raises(UsageError, match="unknown ExecuTorch backend 'mps'"):
        rt.asset_name("mps")


def test_export_writes_one_asset_per_backend_xnnpack_first(exported):
    out, assets, stages = exported
    assert list(assets) == ["xnnpack", "coreml", "vulkan"]  # asked for coreml, vulkan: Vulkan goes last
    assert sorted(p.name for p in out.iterdir()) == ["model.pte", "model_coreml.pte", "model_vulkan.pte"]
    assert [a.runs_here for a in assets.values()] == [True, False, False]
    assert assets["xnnpack"].lines()[0].endswith("runs on this host")
    assert assets["vulkan"].lines()[0].endswith("exported, not run here: needs an Android Vulkan GPU")
    assert assets["coreml"].lines()[0].endswith("exported, not run here: needs an Apple device (Core ML)")
    assert [et.inspect(a.path).runs_here for a in assets.values()] == [True, False, False]
    coreml = et.inspect(out / "model_coreml.pte")
    assert 0 < coreml.planned_bytes < 4096  # the delegate's output (4x8x8 floats) and little else
    assert coreml.lines()[0] == (
        f"model_coreml.pte ({assets['coreml'].size} bytes, {coreml.planned_bytes} planned for forward, "
        "methods forward, scaffold_metadata): "
        "exported, not run here: needs an Apple device (Core ML)"
    )
    assert stages == [
        "capturing the model with torch.export",
        "lowering to ExecuTorch xnnpack",
        "lowering to ExecuTorch coreml",
        "lowering to ExecuTorch vulkan",
    ]


def test_xnnpack_asset_reproduces_the_source(tiny, exported):
    model, example = tiny
    out, _, _ = exported
    with torch.no_grad():
        reference = model(example)
    actual = et.verify(out / "model.pte", example)
    assert actual.shape == reference.shape
    assert float((actual - reference).abs().max()) <= 1e-4


def test_verify_makes_non_contiguous_inputs_contiguous(tiny, exported):
    model, example = tiny
    out, _, _ = exported
    nhwc = example.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # same values, channels-last strides
    assert not nhwc.is_contiguous()
    with torch.no_grad():
        reference = model(example)
    assert float((et.verify(out / "model.pte", nhwc) - reference).abs().max()) <= 1e-4


@pytest.mark.parametrize("backend", ["xnnpack", "vulkan", "coreml"])
def test_metadata_constant_method_round_trips(exported, backend):
    out, assets, _ = exported
    info = et.inspect(assets[backend].path)
    assert info.methods == ["forward", et.METADATA_METHOD]
    assert info.metadata == METADATA
    assert info.size == assets[backend].path.stat().st_size


@pytest.mark.parametrize("backend", ["xnnpack", "vulkan", "coreml"])
def test_delegation_summary_names_the_delegate(exported, backend):
    _, assets, _ = exported
    at_export = assets[backend].delegation
    assert [d.backend_id for d in at_export.delegates] == [et.BACKEND_IDS[backend]]
    delegate = at_export.delegates[0]
    assert "convolution.default" in delegate.operators and delegate.nodes == sum(delegate.operators.values())
    assert at_export.portable == {}
    assert at_export.lines()[0].startswith(f"{et.BACKEND_IDS[backend]}: 1 subgraph(s), {delegate.nodes} node(s)")
    # Read back from the file alone: the same delegate, called once.
    from_file = et.inspect(assets[backend].path).delegation
    assert [(d.backend_id, d.subgraphs) for d in from_file.delegates] == [(et.BACKEND_IDS[backend], 1)]


def test_vulkan_and_coreml_assets_do_not_run_here_and_say_so(tiny, exported):
    _, example = tiny
    out, _, _ = exported
    for name in ("model_vulkan.pte", "model_coreml.pte"):
        with pytest.raises(ExportError, match=f"cannot run {name} .*only XNNPACK assets run on this host"):
            et.verify(out / name, example)


def test_inspect_reports_portable_operators(tmp_path):
    class NotDelegated(torch.nn.Module):
        def forward(self, x):
            return torch.cumsum(x, dim=1)  # XNNPACK has no cumsum: stays on portable kernels

    example = torch.rand(1, 3, 4, 4)
    [asset] = et.export(NotDelegated(), example, tmp_path, "{}")
    assert asset.delegation.delegates == [] and asset.delegation.portable == {"cumsum.default": 1}
    assert et.inspect(asset.path).delegation.portable == {"cumsum.out": 1}  # the program calls out variants
    assert float((et.verify(asset.path, example) - torch.cumsum(example, dim=1)).abs().max()) <= 1e-5


@pytest.mark.parametrize("how", ["trace", "script"])
def test_torchscript_converts_and_reproduces(tiny, tmp_path, how):
    model, example = tiny
    ts = torch.jit.trace(model, example) if how == "trace" else torch.jit.script(model)
    stages: list[str] = []
    [asset] = et.export(ts, example, tmp_path, METADATA, progress=stages.append)
    assert stages[0] == "converting TorchScript with TS2EPConverter"
    with torch.no_grad():
        reference = ts(example)
    assert float((et.verify(asset.path, example) - reference).abs().max()) <= 1e-4
    assert et.inspect(asset.path).metadata == METADATA


def _input_shape(ep):
    [name] = ep.graph_signature.user_inputs
    return next(n.meta["val"].shape for n in ep.graph.nodes if n.name == name)


@pytest.mark.parametrize("form", ["traced", "dynamic .pt2"])
def test_programs_with_symbolic_input_sizes_are_specialised_to_the_example(tiny, form):
    model, example = tiny
    if form == "traced":  # TS2EPConverter retraces with Dim.AUTO on every dimension
        source = torch.jit.trace(model, example)
    else:
        auto = torch.export.Dim.AUTO
        source = torch.export.export(model, (example,), dynamic_shapes={"x": {2: auto, 3: auto}})
        assert not all(isinstance(d, int) for d in _input_shape(source))
    ep = et.to_exported_program(source, example)
    assert tuple(_input_shape(ep)) == (1, 3, 8, 8) and not ep.range_constraints


@pytest.fixture(scope="module")
def converted(tiny):
    """The traced tiny model as TS2EPConverter returns it, before scaffold specialises it."""
    from torch._export.converter import TS2EPConverter

    model, example = tiny
    with torch.no_grad(), et._quiet_torch():
        return TS2EPConverter(torch.jit.trace(model, example), (example,)).convert()


def test_vulkan_then_xnnpack_lowerings_of_a_torchscript_model_plan_its_real_size(tiny, converted):
    model, example = tiny
    ep = et._static(converted, (example,))
    vulkan, _ = et.lower(ep, "vulkan", "{}")
    xnnpack, _ = et.lower(ep, "xnnpack", "{}")  # after Vulkan, in the same process
    # Without the specialisation: 7 GiB planned for a 16384x16384 input (the Vulkan texture limit).
    assert 0 < et.forward_plan_bytes(vulkan) <= 4 * et.activation_bytes(ep) < 64 * 2**10
    assert 0 < et.forward_plan_bytes(xnnpack) <= 4 * et.activation_bytes(ep)


def test_an_absurd_memory_plan_is_refused_in_one_line_leaving_nothing(tiny, converted, tmp_path, monkeypatch):
    model, example = tiny
    monkeypatch.setattr(et, "to_exported_program", lambda *_: converted)  # symbolic sizes left in place
    with pytest.raises(ExportError) as info:
        et.export(model, example, tmp_path, "{}", backends=["vulkan"])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("the vulkan asset plans 7,168 MiB for forward")
    assert "export the model with static shapes (no dynamic_shapes) or drop --backend vulkan" in message
    assert list(tmp_path.iterdir()) == []  # the XNNPACK asset written first is gone too


@pytest.mark.parametrize("form", ["program", "loaded .pt2 module"])
def test_exported_programs_export_directly(tiny, tmp_path, form):
    model, example = tiny
    program = torch.export.export(model, (example,))
    source = program if form == "program" else program.module()  # what loading.py hands over for .pt2
    [asset] = et.export(source, example, tmp_path, METADATA)
    with torch.no_grad():
        reference = model(example)
    assert float((et.verify(asset.path, example) - reference).abs().max()) <= 1e-4


def test_unknown_backend_is_a_usage_error_before_any_work(tiny, tmp_path):
    model, example = tiny
    with pytest.raises(UsageError, match="unknown ExecuTorch backend 'mps'; choose from xnnpack, vulkan, coreml"):
        et.export(model, example, tmp_path, "{}", backends=["xnnpack", "mps"])
    assert list(tmp_path.iterdir()) == []


def test_unconvertible_torchscript_asks_for_pt2_or_factory(tmp_path):
    class DataDependentLoop(torch.nn.Module):
        def forward(self, x):
            y = x
            for _ in range(int(x.sum().item() > 0) + 1):
                y = y * 2
            return y

    scripted = torch.jit.script(DataDependentLoop())
    with pytest.raises(ModelError) as info:
        et.export(scripted, torch.rand(1, 3, 4, 4), tmp_path, "{}")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("cannot convert the TorchScript model for ExecuTorch (TS2EPConverter failed for node prim::Loop)")
    assert "(.pt2)" in message and "file.py:function" in message and "--runtime lite" in message
    assert list(tmp_path.iterdir()) == []


def test_data_dependent_control_flow_is_one_line_naming_it(tmp_path):
    with pytest.raises(ModelError) as info:
        et.export(DataDependent(), torch.rand(1, 3, 4, 4), tmp_path, "{}")
    message = str(info.value)
    assert "\n" not in message
    assert "data-dependent control flow" in message
    assert "test_runtime_executorch.py" in message and "in forward (`if x.sum() > 0:`)" in message
    assert "--runtime lite" in message
    assert list(tmp_path.iterdir()) == []


def test_failed_lowering_leaves_nothing_behind(tiny, tmp_path, monkeypatch):
    model, example = tiny
    real = et.lower

    def fail_on_vulkan(ep, backend, *args, **kwargs):
        if backend == "vulkan":
            raise ExportError("simulated")
        return real(ep, backend, *args, **kwargs)

    monkeypatch.setattr(et, "lower", fail_on_vulkan)
    with pytest.raises(ExportError, match="simulated"):
        et.export(model, example, tmp_path, "{}", backends=["vulkan"])
    assert list(tmp_path.iterdir()) == []  # the XNNPACK asset written first is gone too


def test_inspect_rejects_files_that_are_not_programs(tmp_path):
    bogus = tmp_path / "model.pte"
    bogus.write_bytes(b"PK\x03\x04 not a program")
    with pytest.raises(ModelError, match="is not an ExecuTorch program"):
        et.inspect(bogus)
    with pytest.raises(ModelError, match="cannot read"):
        et.inspect(tmp_path / "missing.pte")


def test_lite_modules_are_refused_with_the_fix(tmp_path):
    with pytest.raises(ModelError, match="not a lite .ptl"):
        et.to_exported_program(object(), torch.rand(1, 3, 4, 4))


def test_pins_agree_across_versions_and_makefile():
    import executorch.version

    assert versions.EXECUTORCH_PIP == versions.EXECUTORCH  # exporter never newer than the apps
    assert executorch.version.__version__.split("+")[0] == versions.EXECUTORCH_PIP
    makefile = (ROOT / "Makefile").read_text()
    assert f"executorch=={versions.EXECUTORCH_PIP} torchao=={versions.TORCHAO_PIP}" in makefile
    assert versions.EXECUTORCH_SWIFTPM_BRANCH == f"swiftpm-{versions.EXECUTORCH}"
