"""The fake schedd checked against the real one: one scenario on both, compared field by field.

The scenario: two CondorLocal queues (pilots submitted on hold, pilots that can never match),
status, retirement and ``apfctl clean``. The records' ``batch`` and ``submission`` sections,
the clean actions and the attributes the plugins stamp and read on each pilot must be the
same; where they were not, :mod:`apfctl_condor.testing` was made faithful.
"""

from __future__ import annotations

import re

import pytest
from apfctl_condor.schedd import use_schedd_factory
from apfctl_condor.testing import FakePool

from apfctl.stages.status import collect
from tests.condor.condor_helpers import OWNER, loaded, real_section, submit_plugin

pytestmark = pytest.mark.condor_pool
CYCLE = "20261201T000000Z-diff"
# what the plugins stamp and the status, clean and retire read, as the schedd keeps them
ATTRS = ["MATCH_APF_QUEUE", "ApfctlFactory", "ApfctlCycle", "APF_QUEUE", "FACTORY_JOBID", "JobStatus", "JobUniverse",
         "Cmd", "Args", "Environment", "Out", "Err", "UserLog", "Iwd", "Owner", "NumHolds", "HoldReasonCode",
         "HoldReasonSubCode", "HoldReason", "RemoveReason", "ShouldTransferFiles", "TransferExecutable",
         "StreamOut", "StreamErr", "JobNotification", "NotifyUser", "ProcId"]


def scenario(folder, pilot: str, held: str, idle: str, schedd) -> dict:
    body_held = "batchsubmit.{p}.condor_attributes = hold = True\n"
    body_idle = "batchsubmit.{p}.condor_attributes.requirements = False\nbatchsubmit.{p}.clean.stale.idle = 0\n"
    ld = loaded(folder, real_section(held, pilot, body=body_held) + real_section(idle, pilot, body=body_idle))
    submitted = {q: submit_plugin(ld, q).submit(2, CYCLE).ids for q in (held, idle)}
    records = {r["queue"]: r["batch"] for r in collect(ld, [held, idle], CYCLE)}
    ads = {q: [{a: _plain(ad.get(a)) for a in ATTRS} for ad in
               sorted(schedd().query(constraint=f'MATCH_APF_QUEUE == "{q}"', projection=ATTRS),
                      key=lambda ad: ad["ProcId"])] for q in (held, idle)}
    retired = submit_plugin(ld, idle).retire(1).ids
    cleaned = submit_plugin(ld, held).clean()
    gone = sorted((_plain(ad.get("RemoveReason")), ad.get("JobStatus")) for ad in
                  schedd().history(constraint=f'MATCH_APF_QUEUE == "{idle}" || MATCH_APF_QUEUE == "{held}"',
                                   projection=["RemoveReason", "JobStatus"]))
    after = {r["queue"]: r["batch"] for r in collect(ld, [held, idle], CYCLE)}
    return {"counts": [len(v) for v in submitted.values()], "records": records, "ads": ads,
            "retired": len(retired), "cleaned": [(a["what"], len(a["ids"]), a["succeeded"]) for a in cleaned],
            "gone": gone, "after": after, "ids": submitted}


def _plain(value):
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def normalised(value, result: dict, tag: str, folder):
    """Only what the two schedds cannot share is replaced: cluster numbers, the folders and tags."""
    if isinstance(value, dict):
        return {normalised(k, result, tag, folder): normalised(v, result, tag, folder) for k, v in value.items()
                if k != "ids"}
    if isinstance(value, (list, tuple)):
        return [normalised(v, result, tag, folder) for v in value]
    if not isinstance(value, str):
        return value
    for queue_ids in result["ids"].values():
        value = re.sub(rf"\b{queue_ids[0].split('.')[0]}\.(\d)", r"C.\1", value)
    return value.replace(str(folder), "FOLDER").replace(tag, "TAG")


def test_the_fake_schedd_records_what_the_real_one_does(real, tmp_path):
    held, idle = real.queue("DHELD"), real.queue("DIDLE")
    pilot = real.pilot(0)
    on_real = scenario(real.folder / "real", pilot, held, idle, lambda: real.schedd)
    fake = FakePool()
    with use_schedd_factory(fake):
        fake.schedd().owner = OWNER
        on_fake = scenario(real.folder / "fake", pilot, held, idle, fake.schedd)
    real_view = normalised(on_real, on_real, real.tag, real.folder / "real")
    fake_view = normalised(on_fake, on_fake, real.tag, real.folder / "fake")
    found = differences(fake_view, real_view)
    assert found == [], "\n".join(map(repr, found))


def differences(fake, real, path: str = "") -> list[tuple[str, object, object]]:
    """(where, fake value, real value) for every field that differs (``time`` stamps aside)."""
    if isinstance(real, dict) and isinstance(fake, dict):
        found = []
        for key in sorted(set(real) | set(fake), key=str):
            if key != "time":
                found += differences(fake.get(key), real.get(key), f"{path}.{key}")
        return found
    if isinstance(real, list) and isinstance(fake, list) and len(real) == len(fake):
        return [d for i, (f, r) in enumerate(zip(fake, real, strict=True)) for d in differences(f, r, f"{path}[{i}]")]
    return [] if fake == real else [(path, fake, real)]
