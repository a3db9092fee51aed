"""The record, defined once: the envelope and its sections as TypedDicts (plain dicts at run time).

Everything else about the record is derived from these classes: the validator every
stage runs on every input line (``validate.py``), the JSON Schema shipped as
``apfctl/schema/record-v1.json`` (``schema.py``; a test keeps the file equal to it) and
the builders the stages make their sections with (``build.py``).

Conventions the derivations read:

- ``Annotated[int, COUNT]`` and the other constraints of ``kinds.py`` bound a value;
- ``NotRequired[...]`` marks a key a section may leave out; every other key is required;
- a section that is either read or failed is a union of two classes told apart by
  ``ok: Literal[True]`` / ``ok: Literal[False]``;
- keys not defined here are kept as they are (a later stage or a newer apfctl may know them).
"""

# No ``from __future__ import annotations`` here: TypedDict reads NotRequired from evaluated annotations.
from typing import Annotated, Literal, NotRequired, TypedDict

from apfctl.record.kinds import (
    CORES,
    COUNT,
    CYCLE_ID,
    EPOCH,
    ISO_TIME,
    MEMORY_MB,
    PILOTS,
    QUEUE_NAME,
    RESOURCE_TYPE,
    SECONDS,
    STEP,
    Doc,
    Length,
    Range,
)

SCHEMA_VERSION = 1

Count = Annotated[int, COUNT]
Pilots = Annotated[int, PILOTS]
Time = Annotated[str, ISO_TIME, Doc("when the source was read (UTC)")]
ResourceType = Annotated[str, RESOURCE_TYPE]


# --- per resource type (docs/resource-types.md) ----------------------------------------
class WmsTypeCounts(TypedDict):
    """The WMS counts of one resource type."""

    ready: Count
    notready: Count
    running: Count
    done: Count
    failed: Count


class BatchTypeCounts(TypedDict):
    """The pilots of one resource type in the batch system (stamped with it when submitted)."""

    pending: Count
    held: Count
    running: Count
    exiting: Count


class TypeDecision(TypedDict):
    """One resource type's decision: its pilots, its chain's APF message and its pilot size."""

    pilots: Pilots
    msg: str
    cores: Annotated[int, CORES]
    memory: Annotated[int, MEMORY_MB, Doc("MB; null: no memory request")] | None


# --- wms: the work waiting in the WMS ----------------------------------------------------
class _WmsSource(TypedDict):
    plugin: str | None
    time: NotRequired[Time]
    queue: NotRequired[str | None]


class WmsRead(_WmsSource):
    """The WMS answered (or the queue has no WMS plugin: all counts 0)."""

    ok: Literal[True]
    ready: Count
    notready: Count
    running: Count
    done: Count
    failed: Count
    status: NotRequired[Annotated[str | None, Doc("the site's status in the WMS: online, test, offline, ...")]]
    types: NotRequired[Annotated[dict[ResourceType, WmsTypeCounts], Doc(
        "the same counts per resource type the queue serves")]]
    unmatchable: NotRequired[Annotated[int, COUNT, Doc(
        "idle work no resource of the queue could ever run (Condor WMS with wmsstatus.condor.machinead)")]]
    factories: NotRequired[Annotated[int, Range(1, 10**6), Doc(
        "factories PanDA reports workers for on this queue (wmsstatus.panda.share = auto): the ready counts "
        "are this factory's share, ceil(activated / factories)")]]
    error: NotRequired[None]


class WmsFailed(_WmsSource):
    """The WMS could not be read: why."""

    ok: Literal[False]
    error: str


# --- batch: the queue's pilots in the batch system --------------------------------------
class Recent(TypedDict):
    interval: Annotated[float, Range(0, 10**9, above=True)]
    maxtime: Annotated[float, SECONDS]
    total: Count
    short: Count


class HeldReason(TypedDict):
    code: NotRequired[Annotated[int, STEP] | None]
    subcode: NotRequired[Annotated[int, STEP] | None]
    count: Count
    example: NotRequired[str | None]


class Credential(TypedDict):
    profile: NotRequired[str | None]
    kind: NotRequired[str | None]
    lifetime: NotRequired[Annotated[float, Range(-10**10, 10**10), Doc("seconds left; null when unknown")] | None]
    error: NotRequired[str | None]


class _BatchSource(TypedDict):
    plugin: str
    time: NotRequired[Time]
    credential: NotRequired[Annotated[Credential, Doc("the credential the queue submits with (CredentialLifetime)")]]


class VM(TypedDict):
    """One VM of an EC2 queue: its grid job, instance and startd (docs/cloud.md)."""

    job: Annotated[str, Length(1, 64), Doc("its grid job, cluster.proc")]
    instance: Annotated[str, Length(1, 255)] | None
    instance_state: Annotated[str, Length(1, 64)] | None
    startd: Annotated[str, Length(1, 255)] | None
    state: Annotated[str, Length(1, 16), Doc("booting, idle, busy, draining or gone")]
    since: Annotated[float, EPOCH, Doc("when its grid job was submitted, or started running (Unix time)")]
    why: Annotated[str, Length(0, 1000)] | None
    retiring_since: Annotated[float, EPOCH] | None


class VMs(TypedDict):
    """An EC2 queue's VMs by state, and each of them."""

    pending: Annotated[int, COUNT, Doc("booting: submitted, its startd not joined yet")]
    idle: Count
    busy: Count
    retiring: Annotated[int, COUNT, Doc("draining")]
    gone: Annotated[int, COUNT, Doc("its startd left, or never joined in time: its grid job is to be removed")]
    list: list[VM]


class BatchRead(_BatchSource):
    """The batch system answered: the queue's pilots by state (``states.py``)."""

    ok: Literal[True]
    pending: Count
    held: Count
    running: Count
    exiting: Count
    done_1h: Count
    fault_1h: Count
    retiring: NotRequired[Count]
    vms: NotRequired[VMs]
    factory_total: NotRequired[Annotated[int, COUNT, Doc(
        "pending + running summed over every queue of this invocation that shares the batch backend "
        "(MaxPerFactory)")]]
    submitted_total: NotRequired[Annotated[int, COUNT, Doc(
        "pilots this factory has submitted for the queue over the ledger's retention (MaxToSubmit, MinToSubmit)")]]
    recent: NotRequired[Annotated[Recent, Doc(
        "pilots of this queue that ended in the last `interval` seconds, and how many of them ran shorter than "
        "`maxtime` seconds (Throttle)")]]
    held_reasons: NotRequired[list[HeldReason]]
    types: NotRequired[Annotated[dict[ResourceType, BatchTypeCounts], Doc(
        "pilots stamped with a resource type, per type; untyped pilots are in the totals only")]]
    error: NotRequired[None]


class BatchFailed(_BatchSource):
    """The batch system could not be read: why."""

    ok: Literal[False]
    error: str


# --- decision: what the queue's chain of rules made of the status -----------------------
Step = TypedDict("Step", {
    "rule": str,
    "in": Annotated[int, STEP],
    "out": Annotated[int, STEP],
    "msg": str,
    "error": NotRequired[Annotated[bool, Doc("the rule failed (its error is in msg); the chain gave 0")]],
    "type": NotRequired[Annotated[str, RESOURCE_TYPE, Doc("the resource type whose chain made this step")]],
})


class Decision(TypedDict):
    pilots: Annotated[int, PILOTS, Doc("pilots to submit; negative: pilots to retire")]
    msg: Annotated[str, Doc("APF's message: the steps' messages joined with ;")]
    trace: list[Step]
    types: NotRequired[Annotated[dict[ResourceType, TypeDecision], Doc(
        "per resource type; the pilots add up to the total, the type's steps are those of trace with its type")]]


# --- submission: what was submitted or retired ------------------------------------------
class _SubmissionFields(TypedDict):
    plugin: str | None
    requested: Pilots
    submitted: Count
    retired: Count
    ids: list[str]
    dry_run: bool
    description: NotRequired[str | None]
    skipped: NotRequired[Annotated[str | None, Doc("why nothing was done (already submitted, locked)")]]
    description_file: NotRequired[Annotated[str, Length(1, 4096),
                                            Doc("where the backend kept the description it submitted")]]
    error: str | None


class TypeSubmission(_SubmissionFields):
    """One resource type's submission, once per (queue, type, cycle)."""


class Submission(_SubmissionFields):
    types: NotRequired[dict[ResourceType, TypeSubmission]]
    note: NotRequired[Annotated[str, Doc("a decision per type submitted as untyped pilots, and why")]]


# --- the envelope -----------------------------------------------------------------------
class Record(TypedDict):
    """One queue's record as it flows between the stages (JSON Lines, one record per line)."""

    apfctl: Annotated[Literal[1], Doc("the schema version")]
    queue: Annotated[str, QUEUE_NAME]
    cycle: Annotated[str, CYCLE_ID, Doc("the invocation's id, e.g. 20261125T060000Z-3f2a; stamped on every pilot")]
    wms: NotRequired[WmsRead | WmsFailed]
    batch: NotRequired[BatchRead | BatchFailed]
    decision: NotRequired[Decision]
    submission: NotRequired[Submission]


# The stages that write each section, in order (for "run the stage before this one").
SECTION_STAGE = {"wms": "status", "batch": "status", "decision": "decide", "submission": "submit"}
