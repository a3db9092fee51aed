"""The record contract: what flows between the stages, defined once (schema version 1).

- ``sections``: the definitions (TypedDicts: the envelope, wms, batch, decision, submission);
- ``validate``: the check every stage runs on every input line, compiled from them;
- ``schema``: the JSON Schema shipped as ``apfctl/schema/record-v1.json``, written from them;
- ``build``: the builders the stages make their sections with;
- ``message``: APF's ``Name:key=value,...`` step messages;
- ``states``: the pilot states the batch section counts, and each backend's table;
- ``failure``: whether a record failed (every command's exit code);
- ``lines``, ``times``: JSON Lines in and out; times and cycle ids.
"""

from __future__ import annotations

from apfctl.record.build import (
    BATCH_COUNTS,
    WMS_COUNTS,
    batch_failed,
    batch_read,
    decision,
    new_record,
    no_wms,
    refused,
    step,
    submission,
    wms_failed,
    wms_read,
)
from apfctl.record.failure import any_failed, failure, status_failure
from apfctl.record.lines import dumps, dumps_line, read_records, write_record
from apfctl.record.sections import (
    SCHEMA_VERSION,
    BatchFailed,
    BatchRead,
    Decision,
    Record,
    Step,
    Submission,
    WmsFailed,
    WmsRead,
)
from apfctl.record.times import cycle_time, isotime, new_cycle_id, utcnow
from apfctl.record.validate import Invalid, check

__all__ = [
    "BATCH_COUNTS", "SCHEMA_VERSION", "WMS_COUNTS", "BatchFailed", "BatchRead", "Decision", "Invalid", "Record",
    "Step", "Submission", "WmsFailed", "WmsRead", "any_failed", "batch_failed", "batch_read", "check", "cycle_time",
    "decision", "dumps", "dumps_line", "failure", "isotime", "new_cycle_id", "new_record", "no_wms", "read_records",
    "refused", "status_failure", "step", "submission", "utcnow", "wms_failed", "wms_read", "write_record",
]
