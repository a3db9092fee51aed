"""The stamps on every pilot: factory id, queue, cycle (and resource type), in the job name and the comment.

The job name is what apfctl reads back, because it is the one field that ``squeue``,
``sacct`` and the job-completion log all carry (the completion log has no comment, and
``sacct`` stores the comment only when the job ends). The comment carries the same stamps in
APF's words (``APF_QUEUE=...``) for operators and site tools.

Each part is percent-encoded, so queue names with ``:``, spaces or ``%`` survive, and the
name has no whitespace (the completion log is ``key=value`` separated by spaces).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from apfctl.resourcetypes.definitions import valid_name

PREFIX = "apf"


def _enc(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True)
class Tag:
    factory: str
    queue: str
    cycle: str
    resource_type: str = ""   # '' for an untyped pilot (docs/resource-types.md)

    def job_name(self) -> str:
        name = f"{PREFIX}:{_enc(self.factory)}:{_enc(self.queue)}:{_enc(self.cycle)}"
        return f"{name}:{_enc(self.resource_type)}" if self.resource_type else name

    def comment(self) -> str:
        text = f"APF_QUEUE={_enc(self.queue)},APF_FID={_enc(self.factory)},APF_CID={_enc(self.cycle)}"
        return f"{text},APF_RESOURCETYPE={_enc(self.resource_type)}" if self.resource_type else text


def parse_job_name(name: str) -> Tag | None:
    """The stamps of an apfctl pilot's job name (a fifth part: its resource type); None for any other job."""
    parts = name.split(":")
    if len(parts) not in (4, 5) or parts[0] != PREFIX or (len(parts) == 5 and not valid_name(parts[4])):
        return None
    return Tag(*(unquote(part) for part in parts[1:]))
