"""A unified queue on the local Slurm: SCORE and MCORE pilots of their sizes, seen in squeue."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.slurm.slurm_helpers import Site, records, wait_for

pytestmark = pytest.mark.slurm

UCORE = {"resourcetypes": "SCORE, MCORE", "corecount": "4", "maxrss": "8000",
         "sched.fixed.pilotspercycle": "2",
         "batchsubmit.slurm.options": "--begin=now+3600"}   # they stay pending: sizes are what we look at


def squeue_sizes(site: Site) -> dict[str, list[tuple[str, str]]]:
    """CPUs and memory per pilot of this factory, by resource type (the fifth part of the job name)."""
    shown = subprocess.run(["squeue", "-h", "-r", "-o", "%j|%C|%m"], capture_output=True, text=True, timeout=30)
    sizes: dict[str, list[tuple[str, str]]] = {}
    for line in shown.stdout.splitlines():
        name, cpus, memory = line.split("|")
        parts = name.split(":")
        if len(parts) == 5 and parts[1] == site.factory_id:
            sizes.setdefault(parts[4], []).append((cpus, memory))
    return sizes


def test_mcore_pilots_get_their_cpus_and_memory_and_are_counted_per_type(site: Site) -> None:
    site.write({"SL_UCORE": UCORE})
    status = site.apfctl("status", "--all")
    assert status.returncode == 0, status.stderr
    decided = site.apfctl("decide", stdin=status.stdout)
    decision = records(decided)["SL_UCORE"]["decision"]
    assert {rt: (t["pilots"], t["cores"], t["memory"]) for rt, t in decision["types"].items()} == {
        "SCORE": (2, 1, 2000), "MCORE": (2, 4, 8000)}
    submitted = site.apfctl("submit", stdin=decided.stdout)
    assert submitted.returncode == 0, submitted.stderr
    section = records(submitted)["SL_UCORE"]["submission"]
    assert {rt: len(t["ids"]) for rt, t in section["types"].items()} == {"SCORE": 2, "MCORE": 2}

    def four() -> dict[str, list[tuple[str, str]]] | None:
        sizes = squeue_sizes(site)
        return sizes if sum(map(len, sizes.values())) == 4 else None

    sizes = wait_for(four, what="four pilots in squeue")
    assert sorted(sizes["MCORE"]) == [("4", "8000M")] * 2
    assert sorted(sizes["SCORE"]) == [("1", "2000M")] * 2

    comments = subprocess.run(["squeue", "-h", "-r", "-o", "%k", "-j", ",".join(section["types"]["MCORE"]["ids"])],
                              capture_output=True, text=True, timeout=30).stdout.split()
    assert comments and all(c.endswith(",APF_RESOURCETYPE=MCORE") for c in comments)

    batch = records(site.apfctl("status", "--all"))["SL_UCORE"]["batch"]
    assert batch["pending"] == 4
    assert batch["types"] == {"SCORE": {"pending": 2, "held": 0, "running": 0, "exiting": 0},
                              "MCORE": {"pending": 2, "held": 0, "running": 0, "exiting": 0}}

    again = site.apfctl("submit", stdin=decided.stdout)   # the same cycle: nothing twice, per type
    assert all(t["submitted"] == 0 for t in records(again)["SL_UCORE"]["submission"]["types"].values())
    assert sum(map(len, squeue_sizes(site).values())) == 4


def test_retirement_of_one_type_leaves_the_other(site: Site) -> None:
    site.write({"SL_UCORE2": UCORE})
    decided = site.apfctl("decide", stdin=site.apfctl("status", "--all").stdout)
    assert site.apfctl("submit", stdin=decided.stdout).returncode == 0
    wait_for(lambda: sum(map(len, squeue_sizes(site).values())) == 4 or None, what="four pilots")
    record = json.loads(decided.stdout)
    record["cycle"] = record["cycle"] + "r"
    record["decision"]["types"]["MCORE"]["pilots"] = -2
    record["decision"]["types"]["SCORE"]["pilots"] = 0
    record["decision"]["pilots"] = -2
    retired = records(site.apfctl("submit", stdin=json.dumps(record) + "\n"))["SL_UCORE2"]["submission"]
    assert retired["types"]["MCORE"]["retired"] == 2 and retired["types"]["SCORE"]["retired"] == 0
    wait_for(lambda: set(squeue_sizes(site)) == {"SCORE"} or None, what="only the SCORE pilots to be left")
