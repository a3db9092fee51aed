"""The definitions of ``sections.py`` read into a small tree of nodes.

One reading, two uses: ``validate.py`` compiles the tree into the record check and
``schema.py`` writes it out as JSON Schema, so the two cannot drift apart.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, Union

from apfctl.record.kinds import Doc, Length, Pattern, Range


@dataclass(frozen=True)
class Node:
    doc: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Integer(Node):
    range: Range


@dataclass(frozen=True)
class Number(Node):
    range: Range


@dataclass(frozen=True)
class Text(Node):
    pattern: Pattern | None = None
    length: Length | None = None


@dataclass(frozen=True)
class Boolean(Node):
    pass


@dataclass(frozen=True)
class Const(Node):
    value: Any


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class Nullable(Node):
    """``X | None``."""

    item: Node


@dataclass(frozen=True)
class Array(Node):
    item: Node


@dataclass(frozen=True)
class Map(Node):
    """``dict[K, V]``: an object keyed by strings of ``key``, each value a ``item``."""

    key: Text
    item: Node


@dataclass(frozen=True)
class Field:
    key: str
    node: Node
    required: bool


@dataclass(frozen=True)
class Object(Node):
    """A TypedDict: its fields in definition order. Keys it does not define are allowed."""

    name: str
    fields: tuple[Field, ...]

    def const(self, key: str) -> Any:
        """The value of a ``Literal`` field (the discriminator of a union)."""
        node = next(f.node for f in self.fields if f.key == key)
        assert isinstance(node, Const)
        return node.value


@dataclass(frozen=True)
class Variants(Node):
    """A union of objects told apart by the constant value of their ``key`` field."""

    key: str
    choices: tuple[Object, ...]


ANY_INTEGER = Range(-(2**53), 2**53)


def node_of(annotation: Any) -> Node:
    """The node for one annotation of ``sections.py`` (TypeError for a form it does not use)."""
    doc = None
    constraints: list[Any] = []
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *constraints = typing.get_args(annotation)
        doc = next((c.text for c in constraints if isinstance(c, Doc)), None)
    origin = typing.get_origin(annotation)
    if origin is NotRequired:
        return node_of(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) < len(args):   # X | None
            inner = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
            return Nullable(node_of(inner), doc=doc)
        choices = tuple(object_of(a) for a in args)
        return Variants("ok", choices, doc=doc)
    if origin is Literal:
        (value,) = typing.get_args(annotation)
        return Const(value, doc=doc)
    if origin is list:
        return Array(node_of(typing.get_args(annotation)[0]), doc=doc)
    if origin is dict:
        key, value = typing.get_args(annotation)
        key_node = node_of(key)
        assert isinstance(key_node, Text), "a map of the record is keyed by strings"
        return Map(key_node, node_of(value), doc=doc)
    rng = next((c for c in constraints if isinstance(c, Range)), None)
    if annotation is bool:
        return Boolean(doc=doc)
    if annotation is int:
        return Integer(rng or ANY_INTEGER, doc=doc)
    if annotation is float:
        return Number(rng or ANY_INTEGER, doc=doc)
    if annotation is str:
        pattern = next((c for c in constraints if isinstance(c, Pattern)), None)
        length = next((c for c in constraints if isinstance(c, Length)), None)
        return Text(pattern, length, doc=doc)
    if annotation is type(None):
        return Null(doc=doc)
    if typing.is_typeddict(annotation):
        obj = object_of(annotation)
        return Object(obj.name, obj.fields, doc=doc or obj.doc)
    raise TypeError(f"sections.py uses a type the record model does not know: {annotation!r}")


@functools.cache
def object_of(cls: Any) -> Object:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = tuple(Field(key, node_of(hint), key in cls.__required_keys__) for key, hint in hints.items())
    doc = (cls.__doc__ or "").strip() or None
    if doc and doc.startswith(f"{cls.__name__}("):   # the functional form's generated docstring
        doc = None
    return Object(cls.__name__, fields, doc=doc)
