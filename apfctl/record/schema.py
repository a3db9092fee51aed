"""The JSON Schema of the record, written from the definitions of ``sections.py``.

``python -m apfctl.record.schema`` writes ``apfctl/schema/record-v1.json``; a test keeps the
shipped file equal to :func:`json_schema`, so it is the published form of the same contract.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from apfctl.record import model
from apfctl.record.kinds import Range
from apfctl.record.model import (
    Array,
    Boolean,
    Const,
    Integer,
    Map,
    Node,
    Null,
    Nullable,
    Number,
    Object,
    Text,
    Variants,
)
from apfctl.record.sections import SCHEMA_VERSION, Record

SHIPPED = Path(__file__).parent.parent / "schema" / f"record-v{SCHEMA_VERSION}.json"


def _range(schema: dict[str, Any], bounds: Range) -> dict[str, Any]:
    schema["exclusiveMinimum" if bounds.above else "minimum"] = bounds.low
    schema["maximum"] = bounds.high
    return schema


class _Writer:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def node(self, node: Node) -> dict[str, Any]:
        schema = self._node(node)
        if node.doc and not isinstance(node, Object | Variants):
            schema["description"] = node.doc
        return schema

    def _node(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Integer):
            return _range({"type": "integer"}, node.range)
        if isinstance(node, Number):
            return _range({"type": "number"}, node.range)
        if isinstance(node, Text):
            schema: dict[str, Any] = {"type": "string"}
            if node.pattern is not None:
                schema["pattern"] = f"^{node.pattern.regex}$"
            if node.length is not None:
                schema.update(minLength=node.length.low, maxLength=node.length.high)
            return schema
        if isinstance(node, Boolean):
            return {"type": "boolean"}
        if isinstance(node, Const):
            return {"const": node.value}
        if isinstance(node, Null):
            return {"type": "null"}
        if isinstance(node, Nullable):
            return {"anyOf": [{"type": "null"}, self.node(node.item)]}
        if isinstance(node, Array):
            return {"type": "array", "items": self.node(node.item)}
        if isinstance(node, Map):
            return {"type": "object", "propertyNames": self.node(node.key),
                    "additionalProperties": self.node(node.item)}
        if isinstance(node, Object):
            return self.ref(node)
        if isinstance(node, Variants):
            return {"oneOf": [self.ref(choice) for choice in node.choices]}
        raise TypeError(node)  # pragma: no cover

    def body(self, obj: Object) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        if obj.doc:
            schema["description"] = obj.doc
        schema["required"] = [f.key for f in obj.fields if f.required]
        schema["properties"] = {f.key: self.node(f.node) for f in obj.fields}
        return schema

    def ref(self, obj: Object) -> dict[str, Any]:
        if obj.name not in self.defs:
            self.defs[obj.name] = None   # reserved first: keeps the order of first use
            self.defs[obj.name] = self.body(obj)
        return {"$ref": f"#/$defs/{obj.name}"}


def json_schema() -> dict[str, Any]:
    """The record's JSON Schema (draft 2020-12). Objects admit keys they do not define, as the stages do."""
    writer = _Writer()
    top = writer.body(model.object_of(Record))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://apfctl.invalid/schema/record-v{SCHEMA_VERSION}.json",
        "title": f"apfctl queue record, schema version {SCHEMA_VERSION}",
        **top,
        "$defs": writer.defs,
    }


def render() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    target.write_text(render())
    print(f"wrote {target}")
