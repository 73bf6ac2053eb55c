"""Parsing generated sources on a machine without their compilers (tree-sitter, XML, plist)."""

from __future__ import annotations

import functools
import plistlib
import xml.etree.ElementTree as ET


@functools.lru_cache(maxsize=None)
def _parser(language: str):
    import tree_sitter

    if language == "java":
        import tree_sitter_java as grammar
    elif language == "swift":
        import tree_sitter_swift as grammar
    elif language == "kotlin":  # the Gradle Kotlin DSL files
        import tree_sitter_kotlin as grammar
    else:  # pragma: no cover - programming error
        raise ValueError(language)
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def syntax_errors(language: str, source: bytes) -> list[str]:
    """Positions of ERROR/MISSING nodes, as 'line:col: text'; empty when the file parses."""
    tree = _parser(language).parse(source)
    problems: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            row, col = node.start_point
            snippet = source[node.start_byte : node.end_byte][:40].decode("utf-8", "replace")
            kind = "missing" if node.is_missing else "unexpected"
            problems.append(f"{row + 1}:{col + 1}: {kind} {node.type if node.is_missing else repr(snippet)}")
        elif node.has_error:
            stack.extend(node.children)
    return sorted(problems)


def xml_error(source: bytes) -> str | None:
    try:
        ET.fromstring(source)
    except ET.ParseError as exc:
        return str(exc)
    return None


def plist_error(source: bytes) -> str | None:
    try:
        plistlib.loads(source)
    except Exception as exc:  # noqa: BLE001 - plistlib raises several types
        return f"{type(exc).__name__}: {exc}"
    return None
