"""The record check, compiled from the definitions of ``sections.py``.

Every field of every section is checked: type, required keys, and the range or pattern
its definition gives. The check is generated once, at import, as straight-line Python
(one ``type(...) is`` test and one comparison per field, the way fastjsonschema does it)
because decide checks every input line and has a throughput budget (docs/architecture.md);
a failing field raises :class:`Invalid` with its path and value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from apfctl.record import model
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
from apfctl.record.sections import SCHEMA_VERSION, SECTION_STAGE, Record

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "missing"})()
SHOWN = 60   # characters of an offending value shown in an error


class Invalid(ValueError):
    """A field of a record that breaks the definition: where, what it was, and what it must be."""

    def __init__(self, path: str, value: Any, expected: str) -> None:
        self.path = path
        self.value = value
        self.expected = expected
        super().__init__(f"{path}: {self.reason()}")

    def reason(self) -> str:
        if self.value is MISSING:
            return f"missing (must be {self.expected})"
        return f"must be {self.expected}, got {shown(self.value)}"


def shown(value: Any) -> str:
    """A value as JSON, cut to a readable length."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def describe(node: Node) -> str:
    """What a value of ``node`` must be, in words (for error messages)."""
    if isinstance(node, Integer):
        return f"an integer {node.range.describe()}"
    if isinstance(node, Number):
        return f"a number {node.range.describe()}"
    if isinstance(node, Text):
        if node.pattern is not None:
            return node.pattern.what
        if node.length is not None:
            return f"a string of {node.length.low}..{node.length.high} characters"
        return "a string"
    if isinstance(node, Boolean):
        return "true or false"
    if isinstance(node, Const):
        return orjson.dumps(node.value).decode()
    if isinstance(node, Null):
        return "null"
    if isinstance(node, Nullable):
        return f"null or {describe(node.item)}"
    if isinstance(node, Array):
        return f"a list of {describe(node.item).removeprefix('a ').removeprefix('an ')}s"
    if isinstance(node, Variants):
        return " or ".join(describe(c) for c in node.choices)
    if isinstance(node, Map):
        return f"an object keyed by {describe(node.key).removeprefix('a ').removeprefix('an ')}"
    return "an object"


class _Compiler:
    """Writes the source of one check function; constants go into its namespace."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"M": MISSING, "bad": _bad}
        self.counter = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self, value: Any, prefix: str = "c") -> str:
        name = self.name(prefix)
        self.namespace[name] = value
        return name

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def leaf(self, node: Node, var: str) -> str | None:
        """The condition under which ``var`` is bad, for a node checked by one expression."""
        if isinstance(node, Integer):
            return f"type({var}) is not int or not {node.range.low} <= {var} <= {node.range.high}"
        if isinstance(node, Number):
            low = "<" if node.range.above else "<="
            return (f"(type({var}) is not float and type({var}) is not int) "
                    f"or not {node.range.low} {low} {var} <= {node.range.high}")
        if isinstance(node, Text):
            condition = f"type({var}) is not str"
            if node.pattern is not None:
                condition += f" or {self.const(node.pattern.compile().fullmatch, 'match')}({var}) is None"
            if node.length is not None:
                condition += f" or not {node.length.low} <= len({var}) <= {node.length.high}"
            return condition
        if isinstance(node, Boolean):
            return f"{var} is not True and {var} is not False"
        if isinstance(node, Const):
            if isinstance(node.value, bool) or node.value is None:
                return f"{var} is not {node.value!r}"
            return f"type({var}) is not {type(node.value).__name__} or {var} != {node.value!r}"
        if isinstance(node, Null):
            return f"{var} is not None"
        if isinstance(node, Nullable):
            inner = self.leaf(node.item, var)
            return None if inner is None else f"{var} is not None and ({inner})"
        return None

    def check(self, node: Node, var: str, path: str, depth: int) -> None:
        """Statements that raise for a bad ``var`` (``path``: an expression giving its path)."""
        condition = self.leaf(node, var)
        if condition is not None:
            self.emit(depth, f"if {condition}:")
            self.emit(depth + 1, f"bad({path}, {var}, {self.const(describe(node), 'what')})")
        elif isinstance(node, Nullable):
            self.emit(depth, f"if {var} is not None:")
            self.check(node.item, var, path, depth + 1)
        elif isinstance(node, Array):
            self.emit(depth, f"if type({var}) is not list:")
            self.emit(depth + 1, f"bad({path}, {var}, {self.const(describe(node), 'what')})")
            index, item = self.name("i"), self.name("x")
            self.emit(depth, f"for {index}, {item} in enumerate({var}):")
            self.check(node.item, item, f"{path} + '[' + str({index}) + ']'", depth + 1)
        elif isinstance(node, Map):
            self.emit(depth, f"if type({var}) is not dict:")
            self.emit(depth + 1, f"bad({path}, {var}, {self.const(describe(node), 'what')})")
            key, item = self.name("k"), self.name("x")
            self.emit(depth, f"for {key}, {item} in {var}.items():")
            child = f"{path} + '.' + str({key})[:{SHOWN}]"
            self.check(node.key, key, child, depth + 1)
            self.check(node.item, item, child, depth + 1)
        elif isinstance(node, Object):
            self.object(node, var, path, depth)
        elif isinstance(node, Variants):
            self.variants(node, var, path, depth)
        else:  # pragma: no cover - model.node_of makes only the nodes above
            raise TypeError(node)

    def is_dict(self, var: str, path: str, depth: int) -> None:
        self.emit(depth, f"if type({var}) is not dict:")
        self.emit(depth + 1, f"bad({path}, {var}, 'an object')")

    def fields(self, obj: Object, var: str, path: str, depth: int, skip: str | None = None) -> None:
        get = self.name("get")
        self.emit(depth, f"{get} = {var}.get")
        for field in obj.fields:
            if field.key == skip:
                continue
            value = self.name("v")
            child = _join(path, field.key)
            self.emit(depth, f"{value} = {get}({field.key!r}, M)")
            if field.required:
                self.check(field.node, value, child, depth)
            else:
                self.emit(depth, f"if {value} is not M:")
                self.check(field.node, value, child, depth + 1)

    def object(self, obj: Object, var: str, path: str, depth: int) -> None:
        self.is_dict(var, path, depth)
        self.fields(obj, var, path, depth)

    def variants(self, node: Variants, var: str, path: str, depth: int) -> None:
        self.is_dict(var, path, depth)
        tag = self.name("tag")
        self.emit(depth, f"{tag} = {var}.get({node.key!r}, M)")
        for number, choice in enumerate(node.choices):
            self.emit(depth, f"{'if' if number == 0 else 'elif'} {tag} is {choice.const(node.key)!r}:")
            self.fields(choice, var, path, depth + 1, skip=node.key)
        what = " or ".join(orjson.dumps(c.const(node.key)).decode() for c in node.choices)
        self.emit(depth, "else:")
        self.emit(depth + 1, f"bad({_join(path, node.key)}, {tag}, {what!r})")

    def function(self, obj: Object) -> Callable[[Any], None]:
        self.emit(0, "def check(r):")
        self.emit(1, "if type(r) is not dict:")
        self.emit(2, "bad('record', r, 'a JSON object')")
        self.fields(obj, "r", "''", 1)
        exec("\n".join(self.lines), self.namespace)
        return self.namespace["check"]


def _join(path: str, key: str) -> str:
    """The path expression of field ``key`` under ``path`` (folded when ``path`` is a literal)."""
    if path == "''":
        return repr(key)
    if path.startswith("'") and path.endswith("'") and " + " not in path:
        return repr(f"{path[1:-1]}.{key}")
    return f"{path} + {'.' + key!r}"


def _bad(path: str, value: Any, expected: str) -> None:
    raise Invalid(path, value, expected)


def compile_check(cls: Any) -> Callable[[Any], None]:
    """A function that raises :class:`Invalid` for a value that breaks the TypedDict ``cls``."""
    return _Compiler().function(model.object_of(cls))


_check_record = compile_check(Record)


def check(record: Any, require: Iterable[str] = ()) -> None:
    """Check the whole record; ``require`` names sections that must be present.

    Raises :class:`Invalid`. A record of another schema version is refused first, with
    the versions said, since its other fields may mean something else.
    """
    if type(record) is dict and record.get("apfctl") != SCHEMA_VERSION and "apfctl" in record:
        version = record["apfctl"]
        raise Invalid("apfctl", version, f"{SCHEMA_VERSION}: a record of schema version {shown(version)}, "
                      f"which this apfctl does not read (it reads version {SCHEMA_VERSION} only)")
    _check_record(record)
    types = record.get("decision", {}).get("types")
    if types:
        total = sum(typed["pilots"] for typed in types.values())
        if total != record["decision"]["pilots"]:
            raise Invalid("decision.pilots", record["decision"]["pilots"],
                          f"the sum of the types' pilots, {total}")
    for name in require:
        if name not in record:
            raise Invalid(name, MISSING, f"the {name} section, which {SECTION_STAGE[name]} writes "
                          f"(run apfctl {SECTION_STAGE[name]} before this stage)")
