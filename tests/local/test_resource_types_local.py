"""A unified queue on the Local backend, through the real commands: pilots per type, as processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import wait_for

PAYLOAD = """#!/bin/sh
out=$1; shift
{ env | grep -E '^APFCTL_(RESOURCE_TYPE|CORES|MEMORY)=' | sort; echo "args=$*"; } > "$out/$APFCID.part"
mv "$out/$APFCID.part" "$out/$APFCID.txt"
"""

QUEUES = """
[DEFAULT]
enabled = True
wmsstatusplugin = File
wmsstatus.file.path = wms.json
batchstatusplugin = Local
batchsubmitplugin = Local
batchsubmit.local.slots = {slots}
schedplugin = Ready, MaxPerCycle
sched.maxpercycle.maximum = 5

[UCORE]
resourcetypes = SCORE, MCORE
corecount = 8
maxrss = 16000
executable = {payload}
executable.arguments = {arguments}
"""


def apfctl(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, APFCTL_CONFIG=str(tmp_path / "apfctl.conf"), APFCTL_STATE_DIR=str(tmp_path / "state"),
               CONDOR_CONFIG="/dev/null")
    return subprocess.run([sys.executable, "-m", "apfctl", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120)


def setup(tmp_path: Path, slots: int = 8, payload: str | None = None, arguments: str | None = None) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "payload.sh"
    script.write_text(PAYLOAD)
    script.chmod(0o755)
    (tmp_path / "queues.conf").write_text(QUEUES.format(
        slots=slots, payload=payload or script,
        arguments=arguments or f"{out} --resource-type {{resourcetype}} --cores={{cores}}"))
    (tmp_path / "wms.json").write_text(json.dumps({"UCORE": {"ready": 5, "types": {"SCORE": {"ready": 3},
                                                                                  "MCORE": {"ready": 2}}}}))
    (tmp_path / "apfctl.conf").write_text(f"[Factory]\nfactoryId = rt\nbaseLogDir = {tmp_path / 'logs'}\n"
                                          "queueConf = queues.conf\n")
    return out


def test_pilots_per_type_are_told_their_type_and_size_and_counted_per_type(tmp_path: Path):
    out = setup(tmp_path)
    status = apfctl(tmp_path, "status", "--all")
    assert status.returncode == 0, status.stderr
    decided = apfctl(tmp_path, "decide", stdin=status.stdout)
    assert decided.returncode == 0, decided.stderr
    decision = json.loads(decided.stdout)["decision"]
    assert {rt: (t["pilots"], t["cores"], t["memory"]) for rt, t in decision["types"].items()} == {
        "SCORE": (3, 1, 2000), "MCORE": (2, 8, 16000)}
    submitted = apfctl(tmp_path, "submit", stdin=decided.stdout)
    assert submitted.returncode == 0, submitted.stderr
    section = json.loads(submitted.stdout)["submission"]
    assert section["submitted"] == 5 and {rt: t["submitted"] for rt, t in section["types"].items()} == {
        "SCORE": 3, "MCORE": 2}

    files = wait_for(lambda: sorted(out.glob("*.txt")) if len(list(out.glob("*.txt"))) == 5 else None,
                     what="five pilots to run")
    told = sorted(path.read_text() for path in files)
    assert told.count("APFCTL_CORES=8\nAPFCTL_MEMORY=16000\nAPFCTL_RESOURCE_TYPE=MCORE\n"
                      "args=--resource-type MCORE --cores=8\n") == 2
    assert told.count("APFCTL_CORES=1\nAPFCTL_MEMORY=2000\nAPFCTL_RESOURCE_TYPE=SCORE\n"
                      "args=--resource-type SCORE --cores=1\n") == 3

    again = apfctl(tmp_path, "submit", stdin=decided.stdout)   # the same cycle: nothing twice, per type
    types = json.loads(again.stdout)["submission"]["types"]
    assert all(t["submitted"] == 0 and "already" in t["skipped"] for t in types.values())
    assert len(list((tmp_path / "state" / "local").glob("*/*.json"))) == 5


def test_status_counts_pending_pilots_per_type(tmp_path: Path):
    setup(tmp_path, slots=1, payload="/bin/sleep", arguments="60")
    decided = apfctl(tmp_path, "decide", stdin=apfctl(tmp_path, "status", "--all").stdout)
    assert apfctl(tmp_path, "submit", stdin=decided.stdout).returncode == 0

    def typed_counts():
        batch = json.loads(apfctl(tmp_path, "status", "--all").stdout)["batch"]
        counts = {rt: t["pending"] + t["running"] for rt, t in batch.get("types", {}).items()}
        return batch if counts == {"SCORE": 3, "MCORE": 2} else None

    batch = wait_for(typed_counts, what="the five pilots to be counted per type")
    assert batch["pending"] + batch["running"] == 5 and batch["running"] == 1   # one slot
