"""The Android project on ExecuTorch (issue 8 item 5), rendered from a hand-built context with real
tiny .pte assets: `scaffold check`'s Android rows pass on it and each runtime-aware row fails on a
broken copy; the shipped asset reproduces expected_output.bin as the instrumentation test demands."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("executorch")

from generator import android, goldens, gradle, render, versions  # noqa: E402
from generator import context as ctx  # noqa: E402
from generator.checks import FAIL, PASS, SKIP, CheckReport  # noqa: E402
from generator.metadata import describe  # noqa: E402
from generator.runtimes import executorch as et  # noqa: E402
from conftest import TinyClassifier, edit, write_tree  # noqa: E402
from golden_cases import case_context, rendered  # noqa: E402

PACKAGE_PATH = "com/example/zebra_ify"


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A tiny classifier exported once for XNNPACK and Vulkan, with its goldens."""
    torch.manual_seed(0)
    model = TinyClassifier(3).eval()
    meta = describe(task="classification", input_size=(8, 8), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                    output_shape=(1, 3), output_range=None, labels=("zebra", "horse", "other"))
    img = goldens.default_sample(8, 8)
    x = goldens.input_tensor(img, meta)
    with torch.no_grad():
        expected = model(x)
    out = tmp_path_factory.mktemp("et-android")
    exported = et.export(model, x, out, meta.to_json("test"), backends=("xnnpack", "vulkan"))
    return meta, {a.backend: a.path for a in exported}, goldens.compute(img, meta, expected), x


def et_project(root, assets, backends=("xnnpack", "vulkan")):
    meta, paths, gold, _ = assets
    config = ctx.ProjectConfig("zebra-ify", "Zebra Ify", "com.example.zebra_ify", "ZebraIfy", "com.example.zebra-ify",
                               ("android",), "java", runtime="executorch", backends=backends)
    context = ctx.build(config, meta)
    android_dir = root / "android"
    render.write_files(android_dir, render.render_platform("android", context))
    render.write_files(root, render.render_platform("project", context))
    render.write_artifacts("android", android_dir, context,
                           render.Artifacts(model=paths["xnnpack"].read_bytes(), sample_png=gold.sample_png,
                                            expected=gold.expected.astype("<f4").tobytes(), vectors=gold.vectors))
    if context["vulkan_model_file"]:
        # Placed as et-wire's `vulkan_model` artifact kind will place it: next to the model.
        assets_dir = (android_dir / render.artifact_path("android", "model", context)).parent
        shutil.copyfile(paths["vulkan"], assets_dir / context["vulkan_model_file"])
    (android_dir / gradle.PROPERTIES).parent.mkdir(parents=True, exist_ok=True)
    (android_dir / gradle.PROPERTIES).write_text(gradle.properties_text())
    return root, context


@pytest.fixture(params=[("xnnpack", "vulkan"), ("xnnpack",)], ids=["vulkan", "xnnpack"])
def project(request, assets, tmp_path):
    return et_project(tmp_path, assets, request.param)


def rows(project_dir, context, host_tests=False) -> dict[str, tuple[str, str]]:
    report = CheckReport()
    android.check(project_dir, context, report, run_host_tests=host_tests)
    return {c.name: (c.status, c.detail) for c in report.checks}


def test_every_android_row_passes_including_the_shared_host_tests(assets, tmp_path):
    root, context = et_project(tmp_path, assets)
    status = rows(root, context, host_tests=True)
    assert status.pop("gradle wrapper jar is official")[0] == SKIP  # properties only, as for lite
    failed = {k: v for k, v in status.items() if v[0] != PASS}
    assert not failed, failed
    assert "host unit tests (javac + JUnit 4)" in status and "only the runtime's PyTorch artifacts" in status


def test_the_project_uses_executorch_and_nothing_of_the_lite_runtime(project):
    root, context = project
    app = root / "android" / "app"
    texts = {str(p.relative_to(root)): p.read_text() for p in (root / "android").rglob("*")
             if p.is_file() and p.suffix in (".java", ".kts", ".toml", ".pro", ".properties")}
    lite = {k for k, t in texts.items()
            if re.search(r'import org\.pytorch\.(?!executorch\.)|org\.pytorch:pytorch_android|name = "pytorch_android', t)}
    assert not lite, lite
    runner = (app / "src/main/java" / PACKAGE_PATH / "ModelRunner.java").read_text()
    assert "Module.load(path, LOAD_MODE, threadCount())" in runner and "Module.LOAD_MODE_MMAP" in runner
    assert 'static final String METADATA_KEY = "scaffold_metadata";' in runner
    assert "forward(Tensor.fromBlob(data, shape))" in runner and "EValue.from(tensor)" in runner
    vulkan = context["vulkan_model_file"] is not None
    assert ('VULKAN_MODEL_ASSET = "model_vulkan.pte"' in runner) == vulkan
    assert ("has no Vulkan asset" in runner) != vulkan
    catalog = (root / "android/gradle/libs.versions.toml").read_text()
    artifact = versions.EXECUTORCH_ANDROID_VULKAN_ARTIFACT if vulkan else versions.EXECUTORCH_ANDROID_ARTIFACT
    assert f'name = "{artifact}", version.ref = "executorch"' in catalog and f'executorch = "{versions.EXECUTORCH}"' in catalog
    build = (app / "build.gradle.kts").read_text()
    assert f"minSdk = {versions.EXECUTORCH_ANDROID_MIN_SDK}" in build
    assert 'abiFilters += listOf("arm64-v8a", "x86_64")' in build
    assert (root / ".github/workflows/android.yml").read_text().count("arch: x86_64") == 1
    assert set(versions.EXECUTORCH_ANDROID_ABIS) >= {versions.ANDROID_EMULATOR_ARCH}


def test_the_shipped_asset_reproduces_expected_output_and_carries_the_metadata(assets, tmp_path):
    """What ModelOutputTest checks on a device, checked on the host runtime: the .pte the app ships,
    run on the sample's tensor, equals expected_output.bin within tolerance + rtol x |expected|."""
    meta, _, _, x = assets
    root, context = et_project(tmp_path, assets)
    android_dir = root / "android"
    shipped = android_dir / render.artifact_path("android", "model", context)
    expected = np.frombuffer((android_dir / render.artifact_path("android", "expected", context)).read_bytes(), "<f4")
    got = et.verify(shipped, x).reshape(-1).numpy()
    assert got.shape == expected.shape
    assert np.all(np.abs(got - expected) <= context["tolerance"] + context["rtol"] * np.abs(expected))
    for asset in (shipped, shipped.parent / context["vulkan_model_file"]):
        assert et.read_metadata(asset) == meta.to_json("test")  # what readMetadata() gets on the phone


def row(project_dir, context, name):
    return rows(project_dir, context)[name][0]


ARTIFACTS = "only the runtime's PyTorch artifacts"


@pytest.mark.parametrize("old, new", [
    ('name = "executorch-android', 'name = "pytorch_android_lite'),  # the lite runtime instead
    ("[libraries]\n", '[libraries]\nlite = { group = "org.pytorch", name = "pytorch_android_lite", version = "2.1.0" }\n'),
    ("[libraries]\n", '[libraries]\n# executorch-android was here\n'),  # a comment is not a dependency: still passes
])
def test_executorch_project_declares_only_its_artifact(project, old, new):
    root, context = project
    edit(root / "android/gradle/libs.versions.toml", old, new)
    assert row(root, context, ARTIFACTS) == (PASS if new.startswith("[libraries]\n#") else FAIL)


def test_vulkan_and_plain_executorch_artifacts_never_together(project):
    root, context = project
    other = (versions.EXECUTORCH_ANDROID_ARTIFACT if context["vulkan_model_file"]
             else versions.EXECUTORCH_ANDROID_VULKAN_ARTIFACT)
    edit(root / "android/app/build.gradle.kts", "dependencies {\n",
         f'dependencies {{\n    implementation("org.pytorch:{other}:{versions.EXECUTORCH}")\n')
    status, detail = rows(root, context)[ARTIFACTS]
    assert status == FAIL and other in detail


@pytest.mark.parametrize("artifact", [f"executorch-android:{versions.EXECUTORCH}", "pytorch_android:2.1.0"])
def test_lite_project_must_not_declare_another_runtime(tmp_path, artifact):
    write_tree(tmp_path, rendered("classification-java"))
    context = case_context("classification-java")
    assert row(tmp_path, context, ARTIFACTS) == PASS
    edit(tmp_path / "android/app/build.gradle.kts", "dependencies {\n",
         f'dependencies {{\n    implementation("org.pytorch:{artifact}")\n')
    assert row(tmp_path, context, ARTIFACTS) == FAIL


@pytest.mark.parametrize("old, new, ok", [
    ('listOf("pte", "bin")', 'listOf("ptl", "bin")', False),  # the lite suffix does not cover .pte
    ('noCompress += listOf("pte", "bin")', '// noCompress += listOf("pte", "bin")', False),
    ('listOf("pte", "bin")', 'listOf("bin", "pte")', True),
])
def test_executorch_model_must_be_stored_uncompressed(project, old, new, ok):
    root, context = project
    edit(root / "android/app/build.gradle.kts", old, new)
    assert row(root, context, "model stored uncompressed") == (PASS if ok else FAIL)


def test_lite_model_row_still_wants_ptl(tmp_path):
    write_tree(tmp_path, rendered("classification-java"))
    context = case_context("classification-java")
    edit(tmp_path / "android/app/build.gradle.kts", 'listOf("ptl", "bin")', 'listOf("pte", "bin")')
    assert row(tmp_path, context, "model stored uncompressed") == FAIL


def test_executorch_needs_min_sdk_26(project):
    root, context = project
    assert row(root, context, "minSdk meets the runtime's native libraries") == PASS
    edit(root / "android/app/build.gradle.kts", f"minSdk = {versions.EXECUTORCH_ANDROID_MIN_SDK}",
         f"minSdk = {versions.MIN_SDK}")
    assert row(root, context, "minSdk meets the runtime's native libraries") == FAIL


def test_r8_row_reads_the_executorch_list(project, monkeypatch):
    root, context = project
    name = "R8 rules cover the classes the pinned AARs reference"
    assert row(root, context, name) == PASS
    # A class only the ExecuTorch list names must be covered in an ExecuTorch project...
    monkeypatch.setitem(versions.R8_MISSING_CLASSES, "executorch",
                        versions.R8_MISSING_CLASSES["executorch"] + ("org.example.Missing",))
    assert row(root, context, name) == FAIL
    # ...and the lite list does not apply to it.
    monkeypatch.setitem(versions.R8_MISSING_CLASSES, "lite", ("org.example.OnlyLite",))
    monkeypatch.setitem(versions.R8_MISSING_CLASSES, "executorch", ("javax.annotation.Nullable",))
    assert row(root, context, name) == PASS
    edit(root / "android/app/proguard-rules.pro", "-dontwarn javax.annotation.Nullable", "")
    assert row(root, context, name) == FAIL


class NestedOutputs(torch.nn.Module):
    def forward(self, x):
        return {"zz": x * 2, "aa": (x + 1, x.mean((2, 3)))}


def test_executorch_returns_outputs_flat_in_pytree_order(tmp_path):
    """The contract ModelRunner.chooseTensor relies on (and the exporter must honour when it writes
    the metadata's output index): forward() returns one flat list, a dict's values in insertion
    order (not sorted by key), nested tuples depth first."""
    x = torch.rand(1, 3, 4, 4)
    asset = et.export(NestedOutputs().eval(), x, tmp_path, "{}")[0].path
    from executorch.runtime import Runtime

    outputs = Runtime.get().load_program(asset).load_method("forward").execute([x])
    assert [tuple(o.shape) for o in outputs] == [(1, 3, 4, 4), (1, 3, 4, 4), (1, 3)]
    assert torch.allclose(outputs[0], x * 2) and torch.allclose(outputs[1], x + 1)
