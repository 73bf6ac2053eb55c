import pytest

from generator import names
from generator.errors import UsageError


@pytest.mark.parametrize("bad, fragment", [
    ("", "empty"), ("a/b", "path separator"), ("a\\b", "path separator"), ("..", "path separator"),
    ("zébra", "not ASCII"), ("1zebra", "starts with a digit"), ("zeb ra", "characters other than"),
    ("z" * 65, "longer than"),
])
def test_invalid_names_are_refused_with_the_reason(bad, fragment):
    with pytest.raises(UsageError, match=fragment):
        names.validate_name(bad)


@pytest.mark.parametrize("bad, fragment", [
    ("", "empty"), ("zebra", "at least two segments"), ("com..zebra", "empty segment"),
    ("com.example.class", "Java keyword"), ("com.1zebra", "starts with a digit"), ("com.zébra", "not ASCII"),
    ("com/example", "path separator"), ("com.ex-ample", "letters, digits and '_'"),
])
def test_invalid_packages_are_refused_with_the_reason(bad, fragment):
    with pytest.raises(UsageError, match=fragment):
        names.validate_package(bad)


def test_derived_package_is_valid_for_awkward_names():
    for name in ("zebraify", "my-app", "Class", "a_b-c", "int"):
        assert names.validate_package(names.derive_package(name)) == names.derive_package(name)
    assert names.derive_package("my-App") == "com.example.my_app"
    assert names.derive_package("int") == "com.example.int_app"


def test_app_name_is_title_cased_words():
    assert names.app_name_from("zebra-ify_app") == "Zebra Ify App"


def test_java_and_kotlin_literals_escape_everything_that_would_break_them():
    hostile = 'O\'Brien "x" \\u0041 $name\n<&>'
    assert names.java_string(hostile) == '"O\'Brien \\"x\\" \\\\u0041 $name\\n<&>"'
    assert names.kotlin_string(hostile) == '"O\'Brien \\"x\\" \\\\u0041 \\$name\\n<&>"'
    assert names.swift_string("a\\(b)\"") == '"a\\\\(b)\\""'


def test_xml_and_android_string_escaping():
    assert names.xml_escape("<a & 'b' \"c\">") == "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;"
    assert names.android_string("@O'Brien \"q\"") == "\\@O\\'Brien \\\"q\\\""
    assert names.xml_escape("bell\x07") == "bell"


def test_pbx_strings_are_bare_only_when_safe():
    assert names.pbx_string("Foo.swift") == "Foo.swift"
    assert names.pbx_string("My App") == '"My App"'
    assert names.pbx_string('a"b') == '"a\\"b"'
    assert names.pbx_string("") == '""'


def test_java_float_round_trips_float32_values():
    assert names.java_float(0.485) == "0.485f"
    assert names.java_float(1) == "1.0f"
    with pytest.raises(UsageError):
        names.java_float(float("nan"))
