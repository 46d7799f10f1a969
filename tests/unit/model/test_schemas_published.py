"""The JSON Schemas in schemas/ (for editors) are byte-identical copies of the package's."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from janus.model.schema import SCHEMA_FILES, schema_text

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_published_copy_is_identical(kind):
    published = REPO / "schemas" / SCHEMA_FILES[kind]
    assert published.read_text(encoding="utf-8") == schema_text(kind), (
        f"schemas/{SCHEMA_FILES[kind]} differs from janus/model/schemas/; "
        "copy the package file over it"
    )


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_schema_is_valid_draft_2020_12(kind):
    schema = json.loads(schema_text(kind))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_no_other_published_schemas():
    assert sorted(p.name for p in (REPO / "schemas").glob("*.json")) == sorted(
        SCHEMA_FILES.values())
