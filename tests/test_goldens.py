"""Golden vectors that the generated host tests compare against."""

import os

import torch
import torch.nn as nn

from generator import android, native
from generator.project import check_project, new_project


class TiedLogits(nn.Module):
    """Random-weight classifiers end like this: logits a few ulps apart, equal after float32 softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 10)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.copy_(torch.arange(10, dtype=torch.float32) * 1e-9)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


def test_tied_probabilities_do_not_fail_the_host_tests(tmp_path):
    f = tmp_path / "tied.py"
    f.write_text(f"import sys\nsys.path.insert(0, {os.path.dirname(__file__)!r})\n"
                 "from test_goldens import TiedLogits\ndef make():\n    return TiedLogits()\n")
    new_project(name="tied", model=f"{f}:make", output=tmp_path / "tied", input_size="8x8", platforms=("android",),
                android_api="native")
    report = check_project(tmp_path / "tied", run_host_tests=True, run_native=True)
    failures = [(c.name, c.detail) for c in report.failures]
    assert not failures, failures
    names = {c.name for c in report.checks if c.status == "pass"}
    assert "host unit tests (javac + JUnit 4)" in names
    assert "C++ pixel and output helpers match the golden vectors" in names


def test_same_ranking_accepts_ties_only():
    probs = [0.1, 0.1, 0.5, 0.3]
    assert native.same_ranking(probs, [2, 3, 0], [2, 3, 1], 1e-6)
    assert not native.same_ranking(probs, [2, 3, 0], [3, 2, 0], 1e-6)
    assert not native.same_ranking(probs, [2, 3], [2], 1e-6)


def test_junit_failure_row_shows_the_assertion_message():
    stdout = ("JUnit version 4.13.2\n..E\nTime: 0.1\nThere was 1 failure:\n"
              "1) topKMatchesTorch(com.example.tied.ImageTensorsTest)\n"
              "java.lang.AssertionError: topK(logits) rank 1: class 9 (p=0.1) where torch ranks class 0 (p=0.2)\n"
              "\tat org.junit.Assert.fail(Assert.java:89)\n\nFAILURES!!!\nTests run: 40,  Failures: 1\n")
    summary = android._junit_summary(stdout)
    assert summary.startswith("1 of 40 tests failed; first: topKMatchesTorch(com.example.tied.ImageTensorsTest)")
    assert "topK(logits) rank 1: class 9" in summary
