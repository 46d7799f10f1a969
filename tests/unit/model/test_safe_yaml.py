"""The untrusted-YAML loader: every danger from the issue, each with its rule and position."""

import time
import tracemalloc

import pytest

from janus.model.safe_yaml import MAX_ALIASES, MAX_BYTES, MAX_DEPTH, YamlError, load


def problem_of(data: bytes):
    with pytest.raises(YamlError) as info:
        load("f.yaml", data)
    return info.value.problem


def test_plain_document_with_positions():
    value, marks = load("f.yaml", b"a: 1\nb:\n  - x\n  - y\nc: {d: e}\n")
    assert value == {"a": 1, "b": ["x", "y"], "c": {"d": "e"}}
    assert marks[("a",)] == (1, 1)
    assert marks[("b", 1)] == (4, 5)
    assert marks[("c", "d")] == (5, 5)


@pytest.mark.parametrize(("text", "expected"), [
    ("no", "no"), ("yes", "yes"), ("on", "on"), ("off", "off"),  # YAML 1.2: strings
    ("true", True), ("False", False), ("null", None), ("~", None), ("", None),
    ("12", 12), ("0x1f", 31), ("0o17", 15), ("1.5", 1.5), ("2024-01-01", "2024-01-01"),
    ("'12'", "12"), ('"true"', "true"), ("010", 10), ("1_000", "1_000"), ("<<", "<<"),
])
def test_core_schema_resolution(text, expected):
    value, _ = load("f.yaml", f"k: {text}\n".encode())
    assert value["k"] == expected


@pytest.mark.parametrize(("data", "rule", "line"), [
    # duplicate keys: PyYAML would silently keep the last one
    (b"a: 1\nb: 2\na: 3\n", "yaml.duplicate-key", 3),
    (b"spec:\n  duration: 1h\n  duration: 8h\n", "yaml.duplicate-key", 3),
    # more than one document
    (b"a: 1\n---\na: 2\n", "yaml.multi-document", 2),
    (b"---\na: 1\n...\n---\nb: 2\n", "yaml.multi-document", 4),
    # tags outside the core schema
    (b"a: !!python/object/apply:os.system [id]\n", "yaml.tag", 1),
    (b"a: !!python/name:os.system\n", "yaml.tag", 1),
    (b"a: !!binary aGVsbG8=\n", "yaml.tag", 1),
    (b"a: !!timestamp 2024-01-01\n", "yaml.tag", 1),
    (b"a: !custom x\n", "yaml.tag", 1),
    (b"a: !!set {x}\n", "yaml.tag", 1),
    (b"a: !!omap [x: 1]\n", "yaml.tag", 1),
    (b"a: !!int abc\n", "yaml.tag", 1),
    (b"!!map {a: 1}\n", None, None),  # core tags are fine
    # keys must be plain strings
    (b"? [a, b]\n: 1\n", "yaml.key", 1),
    (b"1: x\n", "yaml.key", 1),
    (b"true: x\n", "yaml.key", 1),
    (b"a: &k x\n*k : y\n", "yaml.key", 2),
    # aliases
    (b"a: *nothing\n", "yaml.alias", 1),
    (b"a: &x [*x]\n", "yaml.alias", 1),
    # syntax
    (b"a: [1, 2\n", "yaml.syntax", 2),
    (b"a: b: c\n", "yaml.syntax", 1),
    (b"\ta: 1\n", "yaml.syntax", 1),
    (b"a: 1\x00\n", "yaml.syntax", None),
    (b"a: \x1b[31mred\n", "yaml.syntax", None),
    # encoding
    (b"a: caf\xe9\n", "file.encoding", 1),
    (b"a: 1\nb: \xff\xfe\n", "file.encoding", 2),
    ("a: 1\n".encode("utf-16"), "file.encoding", 1),
    # invisible characters through escapes: terminal escapes, bidi overrides ("Trojan Source")
    (b'a: "x\\e[2Jy"\n', "yaml.control-character", 1),
    (b'a: "x\\x00y"\n', "yaml.control-character", 1),
    (b'a: "admin\\u202e"\n', "yaml.control-character", 1),
    ("a: evil\u2066x\n".encode(), "yaml.control-character", 1),
    (b'"k\\e": 1\n', "yaml.control-character", 1),
    (b'a: "tab\\tand\\nnewline"\n', None, None),
    # numbers too long to be sane
    (b"a: " + b"9" * 100 + b"\n", "yaml.number-too-long", 1),
])
def test_hostile_yaml(data, rule, line):
    if rule is None:
        load("f.yaml", data)
        return
    problem = problem_of(data)
    assert problem.rule == rule, problem
    assert problem.path == "f.yaml"
    if line is not None:
        assert problem.line == line, problem
    assert problem.message


def test_utf8_bom_is_accepted():
    assert load("f.yaml", b"\xef\xbb\xbfa: 1\n")[0] == {"a": 1}


def test_file_size_limit():
    ok = b"a: '" + b"x" * (MAX_BYTES - 10) + b"'\n"
    assert len(ok) <= MAX_BYTES
    load("f.yaml", ok)
    problem = problem_of(b"#" * (MAX_BYTES + 1))
    assert problem.rule == "file.too-large"
    assert "64 KiB" in problem.message


def test_a_few_aliases_are_fine():
    value, _ = load("f.yaml", b"a: &x [1, 2]\nb: *x\n")
    assert value == {"a": [1, 2], "b": [1, 2]}


def test_too_many_aliases():
    refs = ", ".join(["*x"] * (MAX_ALIASES + 1))
    problem = problem_of(f"a: &x 1\nb: [{refs}]\n".encode())
    assert problem.rule == "yaml.too-many-aliases"


def billion_laughs(levels: int = 9, width: int = 9) -> bytes:
    lines = ["l0: &l0 " + "[" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("data", [
    billion_laughs(),
    # each level doubles: 2**40 nodes if expanded
    ("a0: &a0 [x, x]\n" + "".join(
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 40))).encode(),
])
def test_billion_laughs_fails_fast_in_bounded_memory(data):
    tracemalloc.start()
    started = time.perf_counter()
    problem = problem_of(data)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problem.rule in ("yaml.too-many-aliases", "yaml.too-many-nodes")
    assert elapsed < 0.5
    assert peak < 5 * 1024 * 1024


def test_expansion_bound_without_many_aliases():
    # Big anchored list, aliased a few times: few aliases, but a large expanded size.
    big = "[" + ", ".join(["x"] * 1500) + "]"
    problem = problem_of(f"a: &big {big}\nb: *big\nc: *big\nd: *big\n".encode())
    assert problem.rule == "yaml.too-many-nodes"


def test_depth_bound():
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert problem_of(f"a: {deep}\n".encode()).rule == "yaml.too-deep"


def test_empty_file_is_none():
    assert load("f.yaml", b"")[0] is None
    assert load("f.yaml", b"# only a comment\n")[0] is None
