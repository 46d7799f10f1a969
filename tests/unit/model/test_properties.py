"""Property tests: the loader never crashes, never hangs, never accepts what the schema refuses.

"What the schema refuses" is judged by the plain route — PyYAML's own safe constructor and the
published JSON Schema — so a bug in our own loader or format checks cannot hide itself. The
reference uses the same (C) parser as Janus: libyaml and PyYAML's pure-Python scanner disagree on
details such as a tab before ``:``, which is valid YAML and not what this property is about.
"""

import json
import time

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from janus.model import load_request
from janus.model.schema import schema_text
from tests.unit.model.helpers import REQUEST_PATH, REQUEST_TEXT, request_doc

PLAIN_VALIDATOR = Draft202012Validator(json.loads(schema_text("AccessRequest")))
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
# Far above a healthy load (about 0.1 ms), far below anything a hang would take.
MAX_SECONDS = 0.5


def bare_accepts(data: bytes) -> bool:
    try:
        document = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError:
        return False
    return PLAIN_VALIDATOR.is_valid(document)


def timed_load(data: bytes, path: str = REQUEST_PATH):
    started = time.perf_counter()
    request, problems = load_request(path, data)
    assert time.perf_counter() - started < MAX_SECONDS
    assert (request is None) == bool(problems)
    for problem in problems:
        assert problem.rule and problem.message and problem.path == path
        assert problem.line is None or problem.line >= 1
    return request, problems


@SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(data):
    timed_load(data)


YAML_BITS = st.sampled_from([
    "a", "b", ":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "!!str ",
    "!!python/object ", "---\n", "...", "'", '"', "#", "|\n", "? ", "\t", "\\", "1", "1h",
    "spec", "metadata", "name", "duration", "status", "<<: ", "\u0430", "\x00", "\ufeff",
])


@SETTINGS
@given(st.lists(YAML_BITS, max_size=60).map("".join))
def test_yaml_shaped_garbage_never_crashes(text):
    timed_load(text.encode("utf-8", "surrogatepass"))


@st.composite
def mutated_request_text(draw):
    text = REQUEST_TEXT
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        bit = draw(YAML_BITS)
        if action == "insert":
            text = text[:pos] + bit + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)):]
        else:
            text = text[:pos] + bit + text[pos + len(bit):]
    return text


@SETTINGS
@given(mutated_request_text())
def test_mutated_requests_are_never_accepted_unless_the_schema_accepts(text):
    data = text.encode("utf-8", "surrogatepass")
    request, _ = timed_load(data)
    if request is not None:
        assert bare_accepts(data), text


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
SPEC_KEYS = ["requester", "cluster", "namespace", "role", "duration", "reason", "ticket",
             "clusterRole", "status"]


@st.composite
def mutated_request_document(draw):
    doc = request_doc()
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["spec", "metadata", "root"]))
        key = draw(st.sampled_from([*SPEC_KEYS, "name", "apiVersion", "kind"]))
        value = draw(st.one_of(JSONISH, st.sampled_from(
            ["1h", "90", "payments", "p\u0430yments", "payments\n", "INC-1", "x" * 600, "10m"])))
        target = doc if where == "root" else doc[where] if isinstance(doc.get(where), dict) \
            else doc
        if draw(st.booleans()):
            target[key] = value
        else:
            target.pop(key, None)
    return doc


@SETTINGS
@given(mutated_request_document())
def test_mutated_documents_are_never_accepted_unless_the_schema_accepts(doc):
    data = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
    request, _ = timed_load(data)
    if request is not None:
        assert bare_accepts(data), doc
        assert request.namespace == request.namespace.strip()
        assert request.namespace.isascii()
