"""Careless and hostile values for every option: one line, non-zero exit, nothing written, and
what is accepted is converted the way the apps will see it (issue 6, items 5, 6, 8, 9, 10)."""

import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import build, run_cli, save_torchscript
from generator import goldens, metadata as md
from generator.errors import UsageError


def huge_png(path, width, height):
    """A valid PNG header declaring width x height with almost no pixel data: a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    save_torchscript(build("classification"), d / "cls.pt")
    huge_png(d / "bomb.png", 20000, 20000)
    (d / "big_labels.txt").write_bytes(b"label\n" * ((md.LABELS_BYTES_MAX // 6) + 1))
    (d / "many_labels.txt").write_text("x\n" * (md.LABELS_COUNT_MAX + 5))
    os.mkfifo(d / "fifo")
    return d


CASES = [
    # item 5: tracebacks before
    (["new", "demo", "--task", "detect", "--input-size", "32x32"], "--task 'detect' is unknown"),
    (["export", "--task", "detect", "--input-size", "32x32"], "--task 'detect' is unknown"),
    (["export", "--input-size", "\u00b2x32"], "is not WIDTHxHEIGHT"),
    (["export", "--std", "1e-50,1,1"], "cannot hold in float32"),
    (["export", "--sample-image", "{d}/bomb.png"], "more than 64 million pixels"),
    (["new", "demo", "--package", "com.example." + "a" * 300], "300 characters"),
    # item 6: accepted before, broken project after
    (["export", "--tolerance", "inf"], "--tolerance inf must be a finite number"),
    (["export", "--tolerance", "nan"], "--tolerance nan must be a finite number"),
    (["export", "--tolerance", "-1"], "--tolerance -1.0 must be a finite number"),
    (["export", "--output-range", "-1e-50,1e-50"], "cannot hold in float32"),
    (["export", "--output-range", "1000,1000.0001"], "too narrow for float32"),
    (["new", "demo", "--package", "java.util"], "under java, which belongs to the platform"),
    (["new", "demo", "--package", "javax.demo"], "under javax"),
    (["new", "demo", "--package", "android.demo"], "under android,"),
    (["new", "demo", "--package", "androidx.demo"], "under androidx"),
    (["new", "demo", "--package", "kotlin.demo"], "under kotlin,"),
    (["new", "demo", "--package", "com.android.demo"], "under com.android"),
    (["new", "demo", "--package", "com.aux.demo"], "device name Windows reserves"),
    (["new", "self"], "'Self' is a Swift keyword"),
    (["new", "any"], "'Any' is a Swift keyword"),
    (["new", "con"], "device name Windows reserves"),
    (["new", "LPT1"], "device name Windows reserves"),
    (["new", "Nul"], "device name Windows reserves"),
    # item 8: unbounded reads
    (["export", "--labels", "/dev/zero"], "is not a regular file"),
    (["export", "--labels", "{d}/fifo"], "is not a regular file"),
    (["export", "--labels", "{d}/big_labels.txt"], "larger than 8 MiB"),
    (["export", "--labels", "{d}/many_labels.txt"], "more than 100000 lines"),
    (["export", "--sample-image", "/dev/zero"], "is not a regular file"),
    (["export", "--weights", "/dev/zero", "--model", "{d}/f.py:make"], "not a regular file"),
]


@pytest.mark.parametrize("args, fragment", CASES, ids=[" ".join(a[:1] + a[-2:])[:60] for a, _ in CASES])
def test_bad_value_is_one_line_and_writes_nothing(files, tmp_path, args, fragment):
    d = files
    (d / "f.py").write_text("import torch\ndef make():\n    return torch.nn.Conv2d(3, 2, 1)\n")
    args = [a.format(d=d) for a in args]
    if "--model" not in args:
        args += ["--model", str(d / "cls.pt")]
    out = tmp_path / "out"
    res = run_cli(*args, "--output", str(out), timeout=120)
    problems = [line for line in res.stderr.splitlines() if not line.startswith("- ")]
    assert res.returncode in (2, 3), res.stdout + res.stderr
    assert len(problems) == 1 and problems[0].startswith("error: "), res.stderr
    assert fragment in problems[0], problems[0]
    assert not out.exists() and not list(tmp_path.iterdir())


def test_labels_split_on_newlines_only_and_drop_the_bom(tmp_path):
    """A BOM stayed in the first label; \\v and U+2028 split one label in two (str.splitlines)."""
    save_torchscript(build("classification"), tmp_path / "m.pt")
    labels = ["cat\vdog", "zebra\u2028crossing", "three", "four", "five"]
    (tmp_path / "labels.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(labels).encode() + b"\n")
    res = run_cli("export", "--model", str(tmp_path / "m.pt"), "--labels", str(tmp_path / "labels.txt"),
                  "--input-size", "16x16", "--output", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    import json
    assert json.loads((tmp_path / "out" / "metadata.json").read_text())["labels"] == labels


def test_16_bit_pictures_are_scaled_not_clipped(tmp_path):
    ramp = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 257  # 0..65535
    Image.fromarray(ramp).save(tmp_path / "grey16.png")  # a real 16-bit greyscale PNG
    assert Image.open(tmp_path / "grey16.png").mode == "I;16"
    save_torchscript(build("classification"), tmp_path / "m.pt")
    res = run_cli("export", "--model", str(tmp_path / "m.pt"), "--sample-image", str(tmp_path / "grey16.png"),
                  "--input-size", "16x16", "--output", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    sample = np.asarray(Image.open(tmp_path / "out" / goldens.SAMPLE_NAME).convert("RGB"))
    expected = np.arange(256, dtype=np.uint8).reshape(16, 16)
    # Pillow's own convert("RGB") clips: every value above 255 became white.
    assert np.array_equal(sample[..., 0], expected) and np.array_equal(sample[..., 2], expected)


def test_exif_orientation_is_applied_as_phone_pickers_do(tmp_path):
    img = Image.new("RGB", (8, 4), (0, 0, 0))
    img.putpixel((0, 0), (255, 0, 0))  # red at top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "rot.jpg", exif=exif, quality=100, subsampling=0)
    shown = goldens.load_sample(tmp_path / "rot.jpg", 4, 8)
    assert shown.size == (4, 8)
    r, g, b = shown.getpixel((3, 0))  # stored top-left ends top-right after a 90 degree CW turn
    assert r > 200 and g < 60 and b < 60


def test_transparency_is_read_as_the_apps_read_it(tmp_path):
    """Both apps read straight colour, ignore alpha, and get black for fully transparent pixels."""
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (200, 100, 50, 255)
    rgba[0, 1] = (200, 100, 50, 128)
    rgba[1, 0] = (200, 100, 50, 0)
    rgba[1, 1] = (10, 20, 30, 0)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    got = np.asarray(goldens.load_sample(tmp_path / "a.png", 2, 2))
    assert got.tolist() == [[[200, 100, 50], [200, 100, 50]], [[0, 0, 0], [0, 0, 0]]]
    Image.fromarray(rgba, "RGBA").convert("LA").save(tmp_path / "la.png")
    la = np.asarray(goldens.load_sample(tmp_path / "la.png", 2, 2))
    assert la[1].tolist() == [[0, 0, 0], [0, 0, 0]] and la[0, 0, 0] == la[0, 0, 1] == la[0, 0, 2] > 0
    pal = Image.fromarray(np.array([[0, 0], [1, 1]], dtype=np.uint8), "P")
    pal.putpalette([200, 100, 50, 10, 20, 30])
    pal.save(tmp_path / "p.png", transparency=1)
    assert np.asarray(goldens.load_sample(tmp_path / "p.png", 2, 2)).tolist() == [[[200, 100, 50]] * 2, [[0, 0, 0]] * 2]
    Image.fromarray(rgba[..., :3].copy(), "RGB").convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    assert goldens.load_sample(tmp_path / "c.jpg", 2, 2).mode == "RGB"


def test_parsers_refuse_values_float32_cannot_carry():
    for text in ("1e-50,1,1", "1e39,1,1"):
        with pytest.raises(UsageError, match="float32"):
            md.parse_std(text)
    assert md.parse_range("-1,1") == (-1.0, 1.0) and md.parse_range("0,255") == (0.0, 255.0)
    with pytest.raises(UsageError, match="too narrow"):
        md.parse_range("0,1e-7")


def test_non_utf8_embedded_metadata_is_one_line_in_inspect_and_a_failed_row_in_check(tmp_path, monkeypatch):
    import zipfile

    from test_trust_loading import rewrite_zip

    save_torchscript(build("classification"), tmp_path / "m.pt")
    project = tmp_path / "proj"
    res = run_cli("new", "demo", "--model", str(tmp_path / "m.pt"), "--input-size", "16x16", "--output", str(project))
    assert res.returncode == 0, res.stderr
    assets = sorted(project.rglob("*.ptl"))  # android assets, iOS resources (export/ keeps none by default)
    assert len(assets) == 2
    for asset in assets:
        rewrite_zip(asset, tmp_path / "bad.ptl",
                    lambda name, data: b"\xff\xfe{}" if name.endswith("extra/scaffold.json") else data)
        assert any(n.endswith("extra/scaffold.json") for n in zipfile.ZipFile(tmp_path / "bad.ptl").namelist())
        asset.write_bytes((tmp_path / "bad.ptl").read_bytes())
    res = run_cli("inspect", str(assets[0]))
    assert res.returncode == 3 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "not UTF-8" in res.stderr
    monkeypatch.setenv("COLUMNS", "300")  # one table row per line
    res = run_cli("check", str(project), "--skip-host-tests", "--skip-native")
    assert res.returncode == 7 and "Traceback" not in res.stderr, res.stderr
    rows = {line.split("│")[2].strip(): line for line in res.stdout.splitlines() if line.count("│") >= 4}
    assert "fail" in rows["embedded metadata matches scaffold.toml"] and "not UTF-8" in rows["embedded metadata matches scaffold.toml"]
    assert "pass" in rows["asset reproduces the expected output"]  # the other checks still ran


def test_ten_thousand_classes_compile_and_pass_the_host_tests(tmp_path, monkeypatch):
    """Labels used to be written into ModelSpec.defaults(): 10,000 of them exceed Java's 64 KB
    method limit ("code too large"). They now live only in the embedded metadata (and in the
    golden resources the host tests read)."""
    (tmp_path / "wide.py").write_text(
        "import torch\ndef make():\n    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=4), torch.nn.AdaptiveAvgPool2d(1),\n"
        "                               torch.nn.Flatten(), torch.nn.Linear(4, 10000)).eval()\n")
    (tmp_path / "labels.txt").write_text("\n".join(f"label {i} \u00e9t\u00e9" for i in range(10000)), encoding="utf-8")
    project = tmp_path / "wide"
    res = run_cli("new", "wide", "--model", f"{tmp_path / 'wide.py'}:make", "--labels", str(tmp_path / "labels.txt"),
                  "--input-size", "32x32", "--platforms", "android", "--output", str(project))
    assert res.returncode == 0, res.stderr
    spec = next(project.rglob("ModelSpec.java")).read_text()
    assert "label 9999" not in spec and len(spec) < 20_000
    monkeypatch.setenv("COLUMNS", "300")
    res = run_cli("check", str(project), "--skip-native")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = {line.split("│")[2].strip(): line for line in res.stdout.splitlines() if line.count("│") >= 4}
    assert "pass" in rows["host unit tests (javac + JUnit 4)"]
