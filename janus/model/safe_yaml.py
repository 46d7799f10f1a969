"""Loading untrusted YAML: one document, core schema, no surprises, with a position for every key.

Request files come from anyone who can open a pull request, so this loader builds plain Python
values straight from the parser's *events* instead of letting PyYAML construct objects:

* only the YAML 1.2 core schema: str, int, float, bool, null, map, seq. Any other tag
  (``!!python/object``, ``!!binary``, ``!!timestamp``, ``!custom``) is an error, and plain
  scalars are resolved the 1.2 way (``no`` is the string "no", not False);
* duplicate keys are errors — PyYAML silently keeps the last value, which would let a reviewer
  read one value while Janus acts on another;
* one document per file; files over 64 KiB and non-UTF-8 bytes are refused before parsing;
* aliases are bounded twice: by count, and by the size they would expand to, so a
  "billion laughs" file fails after a few hundred events in constant memory (aliases are stored
  as shared references, never copied);
* nesting depth is bounded, so nothing downstream recurses without limit;
* strings may not carry control characters (even as escapes such as ``"\\e"``) or Unicode
  bidi controls, which could make a reviewer read something other than what Janus acts on.

The result is the value plus ``marks``: for every path (tuple of keys and indexes) the 1-based
line and column where that entry starts (the key for mapping entries), so schema errors and
policy decisions can point at the line a reviewer should look at.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml

from janus.model.problems import Problem

MAX_BYTES = 64 * 1024
MAX_ALIASES = 16
MAX_EXPANDED_NODES = 4096
MAX_DEPTH = 32

# The C parser is several times faster; the pure-Python one gives the same events.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YamlPath = tuple[str | int, ...]
Marks = dict[YamlPath, tuple[int, int]]

_CORE = "tag:yaml.org,2002:"
_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
# Control characters (which YAML lets through as escapes like "\e") and Unicode bidi controls
# ("Trojan Source"): a reviewer must see exactly what Janus will act on and show to others.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_NON_STRING_STARTS = frozenset("~nNtTfF-+.0123456789")
_SCALAR_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null"))
_MAX_NUMBER_CHARS = 64  # longer digit strings are errors, not 10,000-digit ints


class YamlError(Exception):
    """The file cannot be loaded; ``problem`` says where and what would be accepted."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.format())
        self.problem = problem


def decode(path: str, data: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """Check size and encoding; return the text (a UTF-8 BOM is allowed and dropped).

    *max_bytes* is raised only for documents Janus writes itself (ledger entries)."""
    if len(data) > max_bytes:
        raise YamlError(
            Problem(
                path, None, None, "file.too-large",
                f"file is larger than {max_bytes} bytes ({max_bytes // 1024} KiB), the most "
                "accepted; a request needs a few hundred bytes",
            )
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(
            Problem(
                path, line, column, "file.encoding",
                f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
            )
        ) from None
    return text.removeprefix("\ufeff")


def load(path: str, data: bytes, *, max_bytes: int = MAX_BYTES) -> tuple[Any, Marks]:
    """Load one YAML document from untrusted bytes; raise YamlError on the first problem."""
    return _Builder(path).build(decode(path, data, max_bytes=max_bytes))


def _position(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_mark", "path", "start_weight")

    def __init__(self, container: Any, path: YamlPath, anchor: str | None, weight: int) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.start_weight = weight
        self.key: str | None = None
        self.key_mark: tuple[int, int] | None = None


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.marks: Marks = {(): (1, 1)}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliases = 0
        self.weight = 0  # nodes the document would have with every alias expanded
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0

    def problem(self, mark: Any, rule: str, message: str) -> YamlError:
        line, column = _position(mark) if mark is not None else (None, None)
        return YamlError(Problem(self.path, line, column, rule, message))

    def build(self, text: str) -> tuple[Any, Marks]:
        handlers = {
            yaml.ScalarEvent: self._scalar,
            yaml.MappingStartEvent: self._start_mapping,
            yaml.MappingEndEvent: self._end,
            yaml.SequenceStartEvent: self._start_sequence,
            yaml.SequenceEndEvent: self._end,
            yaml.AliasEvent: self._alias,
            yaml.DocumentStartEvent: self._document,
        }
        loader = _Loader(text)
        try:
            # get_event() returns None after the stream ends (C and Python parsers alike).
            while (event := loader.get_event()) is not None:
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            reason = exc.problem or str(exc)
            raise self.problem(
                mark, "yaml.syntax", f"{reason}; the file must be one valid YAML mapping"
            ) from None
        except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
            raise self.problem(None, "yaml.syntax", f"{exc}".replace("\n", " ")) from None
        finally:
            loader.dispose()
        return self.root, self.marks

    # -- events -------------------------------------------------------------------------------

    def _document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise self.problem(
                event.start_mark, "yaml.multi-document",
                "a second YAML document starts here; exactly one document per file is "
                "accepted (remove the '---' separator and what follows)",
            )

    def _start_mapping(self, event: Any) -> None:
        self._start(event, {}, "map")

    def _start_sequence(self, event: Any) -> None:
        self._start(event, [], "seq")

    def _count(self, mark: Any, weight: int = 1) -> None:
        self.weight += weight
        if self.weight > MAX_EXPANDED_NODES:
            raise self.problem(
                mark, "yaml.too-many-nodes",
                f"the document expands to more than {MAX_EXPANDED_NODES} values (aliases "
                "included); write the values out plainly, a request needs a handful",
            )

    def _check_tag(self, event: Any, allowed: str) -> None:
        tag = event.tag
        if tag is None or tag == "!" or tag == _CORE + allowed:
            return
        raise self.problem(
            event.start_mark, "yaml.tag",
            f"tag {tag!r} is not accepted; only plain YAML values (strings, numbers, booleans, "
            "null, mappings and lists of the core schema) are accepted, without tags",
        )

    def _scalar(self, event: Any) -> None:
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _SCALAR_TAGS:
            self._check_tag(event, "str")
        value = self._resolve(event)
        if isinstance(value, str) and (bad := _INVISIBLE.search(value)):
            char = bad.group()
            name = unicodedata.name(char, "a control character")
            raise self.problem(
                event.start_mark, "yaml.control-character",
                f"the value contains U+{ord(char):04X} ({name}), which can hide or reorder what "
                "a reviewer sees; plain text is accepted (tabs and line breaks are fine)",
            )
        self._count(event.start_mark)
        self._place(value, event, is_scalar=True)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)

    def _resolve(self, event: Any) -> Any:
        text: str = event.value
        tag = event.tag
        if tag == "!" or tag == _CORE + "str":
            return text
        if tag is None and not event.implicit[0]:
            return text  # quoted or block scalar: always a string
        if len(text) > _MAX_NUMBER_CHARS and (_INT10.fullmatch(text) or _FLOAT.fullmatch(text)):
            raise self.problem(
                event.start_mark, "yaml.number-too-long",
                f"a number with {len(text)} characters is not accepted; at most "
                f"{_MAX_NUMBER_CHARS} (quote it if it is meant as text)",
            )
        value = _resolve_core(text)
        if tag is None:
            return value
        wanted = tag.removeprefix(_CORE)
        if not _is_tagged_kind(value, wanted):
            raise self.problem(
                event.start_mark, "yaml.tag",
                f"{text!r} is not a valid !!{wanted}; drop the tag and write a plain value",
            )
        return float(value) if wanted == "float" else value

    def _alias(self, event: Any) -> None:
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise self.problem(
                event.start_mark, "yaml.too-many-aliases",
                f"more than {MAX_ALIASES} aliases (*name); write the values out plainly",
            )
        if event.anchor not in self.anchors:
            raise self.problem(
                event.start_mark, "yaml.alias",
                f"alias *{event.anchor} refers to no complete anchor above it; define "
                f"&{event.anchor} first (an anchor cannot refer to itself)",
            )
        value, weight = self.anchors[event.anchor]
        self._count(event.start_mark, weight)
        self._place(value, event, is_scalar=True)

    def _start(self, event: Any, container: Any, kind: str) -> None:
        self._check_tag(event, kind)
        if len(self.stack) >= MAX_DEPTH:
            raise self.problem(
                event.start_mark, "yaml.too-deep",
                f"nesting deeper than {MAX_DEPTH} levels is not accepted",
            )
        self._count(event.start_mark)
        path = self._place(container, event, is_scalar=False)
        self.stack.append(_Frame(container, path, event.anchor, self.weight - 1))

    def _end(self, _event: Any) -> None:
        frame = self.stack.pop()
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (frame.container, self.weight - frame.start_weight)

    def _place(self, value: Any, event: Any, *, is_scalar: bool) -> YamlPath:
        """Put a value into the open container (or make it the root); return its path."""
        if not self.stack:
            self.root = value
            return ()
        frame = self.stack[-1]
        parent = frame.container
        if isinstance(parent, list):
            path = (*frame.path, len(parent))
            parent.append(value)
            self.marks[path] = _position(event.start_mark)
            return path
        if frame.key is None:  # this event is a key
            if not is_scalar or not isinstance(value, str) or isinstance(event, yaml.AliasEvent):
                raise self.problem(
                    event.start_mark, "yaml.key",
                    "mapping keys must be plain strings (no lists, mappings, numbers, "
                    "booleans, null or aliases as keys)",
                )
            if value in parent:
                first = self.marks.get((*frame.path, value), (None, None))[0]
                raise self.problem(
                    event.start_mark, "yaml.duplicate-key",
                    f"key {value!r} appears twice (first on line {first}); exactly one is "
                    "accepted, since a reviewer could read one value while Janus acts on the "
                    "other",
                )
            frame.key = value
            frame.key_mark = _position(event.start_mark)
            self.weight -= 1  # keys are not values; don't count them twice
            return frame.path
        key = frame.key
        path = (*frame.path, key)
        parent[key] = value
        self.marks[path] = frame.key_mark or _position(event.start_mark)
        frame.key = None
        return path


_TAG_KINDS: dict[str, type | tuple[type, ...]] = {
    "null": type(None), "bool": bool, "int": int, "float": (int, float),
}


def _is_tagged_kind(value: object, wanted: str) -> bool:
    """*value* (resolved by the core schema) is what the tag ``!!<wanted>`` accepts; a bool is
    not an ``!!int``."""
    return isinstance(value, _TAG_KINDS[wanted]) and not (
        wanted == "int" and isinstance(value, bool)
    )


def _resolve_core(text: str) -> Any:
    """Resolve a plain scalar by the YAML 1.2 core schema."""
    if text and text[0] not in _NON_STRING_STARTS:
        return text  # the common case: a plain word can only be a string
    if _NULL.fullmatch(text):
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT10.fullmatch(text):
        return int(text)
    if _INT8.fullmatch(text):
        return int(text[2:], 8)
    if _INT16.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.fullmatch(text):
        return float("nan")
    return text
