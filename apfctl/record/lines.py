"""Records as JSON Lines: read and checked line by line, written as bytes.

orjson reads and writes the lines (bytes in, bytes out): the standard library's json alone
costs more than decide's throughput budget allows for the whole record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import orjson

from apfctl.errors import RecordError
from apfctl.record.sections import Record
from apfctl.record.validate import Invalid, check, shown


def read_records(stream: IO[bytes] | IO[str], source: str = "<stdin>",
                 require: Iterable[str] = ()) -> Iterator[tuple[int, Record]]:
    """(line number, record) for each non-blank line, each checked whole; RecordError on the first bad one."""
    needed = tuple(require)
    loads = orjson.loads
    for number, line in enumerate(stream, 1):
        try:
            record = loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():  # blank lines are allowed; testing here keeps them off the hot path
                continue
            raise RecordError(malformed(line, exc), source=source, line=number) from None
        try:
            check(record, needed)
        except Invalid as exc:
            raise RecordError(exc.reason(), source=source, line=number, field=exc.path) from None
        yield number, record


def malformed(line: bytes | str, exc: orjson.JSONDecodeError) -> str:
    """Why a line is not JSON, located in the line itself (not in its line ending)."""
    data = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 text: byte 0x{data[bad.start]:02x} at byte {bad.start + 1} of the line"
    text = text.rstrip("\r\n")
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as again:
        exc = again
    if exc.pos >= len(text) and "end of data" in exc.msg:
        return f"malformed JSON: the line ends before the JSON does (truncated after {len(text)} characters: " \
               f"...{shown(text[-40:])[1:-1]})"
    return f"malformed JSON: {exc.msg} at column {exc.pos + 1} (near {shown(text[max(0, exc.pos - 20):exc.pos + 20])})"


def dumps(record: Any) -> str:
    """One compact JSON line (UTF-8 kept as is)."""
    return orjson.dumps(record).decode()


def dumps_line(record: Mapping[str, Any]) -> bytes:
    """One JSON line as UTF-8 bytes, newline included: for binary streams (no decode, no re-encode)."""
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def write_record(stream: IO[str], record: Mapping[str, Any]) -> None:
    """One JSON line, newline included."""
    stream.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode())
