"""Pieces of the targets' OpenAPI 3.0 documents."""

from __future__ import annotations


def ok(schema_ref: str) -> dict:
    """A 200 answering ``#/components/schemas/<schema_ref>`` as JSON."""
    return {"200": {"description": "OK",
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}}


def err(description: str) -> dict:
    """An error answering ``#/components/schemas/Error`` as JSON."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"},
                                                 "status": {"type": "integer"}}}
