from generator.errors import first_line, squashed


def test_squashed_keeps_a_multi_line_cause_on_one_line_within_the_limit():
    exc = RuntimeError("quantized::conv2d failed:\n  expected 1 channel\n\tgot 3 " + "x" * 300)
    text = squashed(exc)
    assert "\n" not in text and "\t" not in text and len(text) == 200
    assert text.startswith("quantized::conv2d failed: expected 1 channel got 3 x")


def test_first_line_keeps_only_the_first_line_or_the_type():
    assert first_line(RuntimeError("one\ntwo")) == "one"
    assert first_line(ValueError("")) == "ValueError"
