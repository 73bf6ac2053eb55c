"""Names users give (project name, Java package, iOS bundle id) and escaping for each file type.

Every user string that reaches a generated file passes through one of the escapers here, chosen
by the file type it lands in; templates reach them as Jinja filters (see render.py).
"""

from __future__ import annotations

import json
import math
import re

from generator.errors import UsageError

JAVA_KEYWORDS = frozenset(
    """abstract assert boolean break byte case catch char class const continue default do double
    else enum extends final finally float for goto if implements import instanceof int interface
    long native new package private protected public return short static strictfp super switch
    synchronized this throw throws transient try void volatile while true false null _ var yield
    record sealed permits non-sealed""".split()
)

# Swift keywords (The Swift Programming Language, "Lexical Structure: Keywords and Punctuation"):
# the iOS product name becomes a module name in `@testable import <Product>`.
SWIFT_KEYWORDS = frozenset(
    """associatedtype borrowing class consuming deinit enum extension fileprivate func import init inout
    internal let nonisolated open operator private precedencegroup protocol public rethrows static struct
    subscript typealias var break case catch continue default defer do else fallthrough for guard if in
    repeat return throw switch where while Any as await false is nil self Self super throws true try
    Protocol Type associativity convenience dynamic didSet final get indirect infix lazy left mutating
    none optional override postfix prefix required right set some unowned weak willSet""".split()
)
# Device names Windows reserves in every directory, with any extension, in any case.
WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(1, 10)] + [f"lpt{i}" for i in range(1, 10)]
)
# Packages the JVM, ART, Kotlin or Android keep for themselves: classes there fail to load or build.
RESERVED_PACKAGE_ROOTS = ("java", "javax", "android", "androidx", "kotlin", "kotlinx", "dalvik", "com.android")
SEGMENT_MAX = 100  # a segment is a directory name; file systems allow 255 bytes


def windows_reserved(name: str) -> bool:
    return name.split(".", 1)[0].lower() in WINDOWS_RESERVED


_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_SEGMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
NAME_MAX = 64


def validate_name(name: str) -> str:
    """NAME becomes a directory, a Gradle project name and (derived) a Java package segment."""
    if not name:
        raise UsageError("project name is empty; give a name like 'zebraify'")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UsageError(f"project name {name!r} contains a path separator; use --output DIR to choose where it goes")
    if not name.isascii():
        raise UsageError(f"project name {name!r} is not ASCII; use letters, digits, '-' and '_'")
    if name[0].isdigit():
        raise UsageError(f"project name {name!r} starts with a digit; start it with a letter")
    if len(name) > NAME_MAX:
        raise UsageError(f"project name is longer than {NAME_MAX} characters; choose a shorter one")
    if not _NAME_RE.match(name):
        raise UsageError(f"project name {name!r} has characters other than letters, digits, '-' and '_'; rename it")
    if windows_reserved(name):
        raise UsageError(f"project name {name!r} is a device name Windows reserves; the project could not be cloned there, rename it")
    return name


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[-_\s]+", name) if w]


def app_name_from(name: str) -> str:
    """Human-readable display name: 'zebra-ify_app' -> 'Zebra Ify App'."""
    return " ".join(w[:1].upper() + w[1:] for w in _words(name))


def package_segment_from(name: str) -> str:
    seg = re.sub(r"[^a-z0-9_]", "", name.lower().replace("-", "_"))
    if not seg or seg[0].isdigit():
        seg = "app" + seg
    if seg in JAVA_KEYWORDS or windows_reserved(seg):
        seg += "_app"
    return seg


def derive_package(name: str) -> str:
    return "com.example." + package_segment_from(name)


def validate_package(package: str) -> str:
    """A Java package that Android also accepts as namespace and applicationId."""
    if not package:
        raise UsageError("--package is empty; give one like com.example.zebraify")
    if not package.isascii():
        raise UsageError(f"--package {package!r} is not ASCII; Java packages here must be ASCII letters, digits and '_'")
    if "/" in package or "\\" in package:
        raise UsageError(f"--package {package!r} contains a path separator; separate segments with '.'")
    segments = package.split(".")
    if len(segments) < 2:
        raise UsageError(f"--package {package!r} needs at least two segments (Android requires a '.'); e.g. com.example.{package}")
    for seg in segments:
        if not seg:
            raise UsageError(f"--package {package!r} has an empty segment; remove the extra '.'")
        if seg[0].isdigit():
            raise UsageError(f"--package {package!r}: segment {seg!r} starts with a digit; start each segment with a letter")
        if not _SEGMENT_RE.match(seg):
            raise UsageError(f"--package {package!r}: segment {seg!r} may only hold letters, digits and '_'")
        if seg in JAVA_KEYWORDS:
            raise UsageError(f"--package {package!r}: segment {seg!r} is a Java keyword; rename it (e.g. {seg}_app)")
        if len(seg) > SEGMENT_MAX:
            raise UsageError(f"--package segment {seg[:20]}... is {len(seg)} characters; each segment is a directory, "
                             f"keep it to {SEGMENT_MAX}")
        if windows_reserved(seg):
            raise UsageError(f"--package {package!r}: segment {seg!r} is a device name Windows reserves; rename it (e.g. {seg}_app)")
    for root in RESERVED_PACKAGE_ROOTS:
        if package == root or package.startswith(root + "."):
            raise UsageError(f"--package {package!r} is under {root}, which belongs to the platform; "
                             f"use your own domain, e.g. com.example.{segments[-1]}")
    return package


# ---- escaping, one function per target syntax -------------------------------------------------

def xml_escape(text: str) -> str:
    """Text or attribute value in XML (and plist)."""
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = out.replace('"', "&quot;").replace("'", "&apos;")
    # Control characters are not allowed in XML 1.0 at all; drop them rather than emit invalid XML.
    return "".join(ch for ch in out if ch in "\t\n\r" or ord(ch) >= 0x20)


def android_string(text: str) -> str:
    """Android string resource: XML escaping plus aapt's own rules (quotes, @/? prefixes)."""
    out = xml_escape(text)
    out = out.replace("\\", "\\\\").replace("&apos;", "\\'").replace("&quot;", '\\"')
    out = out.replace("\n", "\\n").replace("\t", "\\t")
    if out[:1] in ("@", "?"):
        out = "\\" + out
    return out


_QUOTED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_body(text: str, control) -> str:
    """Backslash-escape quotes, backslashes and whitespace; other controls via `control(code)`."""
    out = []
    for ch in str(text):
        if ch in _QUOTED:
            out.append(_QUOTED[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(control(ord(ch)))
        else:
            out.append(ch)
    return "".join(out)


def java_string(text: str) -> str:
    """A complete Java string literal. Octal, not \\u, for controls: javac expands \\u before lexing.

    An escaped backslash also stops Java from reading a following 'u' as a unicode escape.
    """
    return '"' + _escape_body(text, lambda c: f"\\{c:03o}") + '"'


def kotlin_string(text: str) -> str:
    """A complete Kotlin string literal; '$' would start a template and Kotlin has no octal escapes."""
    return '"' + _escape_body(text, lambda c: f"\\u{c:04x}").replace("$", "\\$") + '"'


def swift_string(text: str) -> str:
    """A complete Swift string literal; '\\(' would start interpolation, escaping '\\' covers it."""
    return '"' + _escape_body(text, lambda c: f"\\u{{{c:x}}}") + '"'


_PBX_BARE = re.compile(r"[A-Za-z0-9_$/:.-]+\Z")


def pbx_string(text: str) -> str:
    """A pbxproj (old-style plist) string: bare when safe, else quoted and escaped."""
    text = str(text)
    if text and _PBX_BARE.match(text) and "//" not in text and "/*" not in text:
        return text
    return '"' + _escape_body(text, lambda c: f"\\U{c:04x}") + '"'


def java_float(value: float) -> str:
    """Java float literal that reads back as the same float32 (e.g. 0.485f)."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise UsageError(f"value {value} cannot be written into the app; use finite numbers for mean/std/range")
    text = repr(value)
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def json_compact(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
