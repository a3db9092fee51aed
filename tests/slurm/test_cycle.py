"""apfctl's stages, run as the ``apfctl`` command, against the local Slurm cluster."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.slurm.slurm_helpers import Site, records, wait_for

pytestmark = pytest.mark.slurm


def _ended(site: Site, queue: str, count: int) -> bool:
    jobs = site.jobs(queue)
    return len(jobs) == count and all(job.category in ("done", "fault") for job in jobs)


def test_cycle_submits_pilots_that_run_and_finish(site: Site) -> None:
    site.write({"SL_OK": {"sched.fixed.pilotspercycle": "3", "batchsubmit.slurm.environ": "EXTRA='a b'"}})
    result = site.apfctl("cycle", "--queue", "SL_OK", env={"LEAKED": "factory-secret"})
    assert result.returncode == 0, result.stderr
    submission = records(result)["SL_OK"]["submission"]
    assert submission["submitted"] == 3 and submission["error"] is None
    array = submission["ids"][0].split("_")[0]
    assert submission["ids"] == [f"{array}_{task}" for task in range(3)]

    wait_for(lambda: _ended(site, "SL_OK", 3), what="three pilots to end")
    assert set(site.states("SL_OK").values()) == {"COMPLETED"}

    batch = records(site.apfctl("status", "--queue", "SL_OK"))["SL_OK"]["batch"]
    assert batch["ok"] is True
    assert (batch["pending"], batch["running"], batch["done_1h"], batch["fault_1h"]) == (0, 0, 3, 0)

    folder = site.logs / f"{dt.datetime.now(dt.UTC):%Y-%m-%d}" / "SL_OK"
    output = (folder / f"{array}_1.out").read_text()
    assert f"APFCID={array}_1" in output
    assert f"APFFID={site.factory_id}" in output and "FACTORYQUEUE=SL_OK" in output
    assert f"GTAG=http://logs.invalid/f/{folder.parent.name}/SL_OK/{array}_1.out" in output
    assert "EXTRA=a b" in output
    assert "LEAKED" not in output            # the factory's own environment stays home
    assert (folder / f"submit-{records(result)['SL_OK']['cycle']}.sh").is_file()


def test_a_second_submit_of_the_same_record_submits_nothing(site: Site) -> None:
    site.write({"SL_IDEM": {"sched.fixed.pilotspercycle": "2", "executable.arguments": "30 0"}})
    decided = site.apfctl("decide", stdin=site.apfctl("status", "--queue", "SL_IDEM").stdout).stdout
    first = records(site.apfctl("submit", stdin=decided))["SL_IDEM"]["submission"]
    assert first["submitted"] == 2

    again = records(site.apfctl("submit", stdin=decided))["SL_IDEM"]["submission"]
    assert again["submitted"] == 0 and again["skipped"]

    # Without the ledger (another state folder), the stamps in Slurm alone prevent a resubmission.
    elsewhere = site.apfctl("submit", stdin=decided, env={"APFCTL_STATE_DIR": str(site.folder / "other")})
    third = records(elsewhere)["SL_IDEM"]["submission"]
    assert third["submitted"] == 0
    assert "already has pilots" in third["skipped"] and sorted(third["ids"]) == sorted(first["ids"])
    assert len(site.jobs("SL_IDEM")) == 2


def test_sbatch_failing_fails_that_queue_only(site: Site) -> None:
    site.write({"SL_GOOD": {}, "SL_BADPART": {"batchsubmit.slurm.partition": "nosuchpartition"}})
    result = site.apfctl("cycle", "--all")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    out = records(result)
    bad = out["SL_BADPART"]["submission"]
    assert bad["submitted"] == 0
    assert "Invalid partition name specified" in bad["error"]          # Slurm's own words
    assert "SL_BADPART" in bad["error"] and "batchsubmit.slurm.partition" in bad["error"]
    assert out["SL_GOOD"]["submission"]["submitted"] == 1 and out["SL_GOOD"]["submission"]["error"] is None


def test_dry_run_shows_the_batch_script_and_submits_nothing(site: Site) -> None:
    site.write({"SL_DRY": {"sched.fixed.pilotspercycle": "4", "batchsubmit.slurm.time": "10:00",
                           "batchsubmit.slurm.options": "--qos=normal --constraint=\"a b\""}})
    result = site.apfctl("cycle", "--queue", "SL_DRY", "--dry-run")
    assert result.returncode == 0, result.stderr
    submission = records(result)["SL_DRY"]["submission"]
    script = submission["description"]
    assert submission["dry_run"] is True and submission["submitted"] == 0
    assert '#SBATCH --array="0-3"' in script and '#SBATCH --time="10:00"' in script
    assert '#SBATCH --constraint="a b"' in script
    assert f'#SBATCH --job-name="apf:{site.factory_id}:SL_DRY:' in script
    assert site.jobs("SL_DRY") == []


def test_a_queue_name_with_slurm_and_tag_metacharacters(site: Site) -> None:
    site.write({"SL:ODD%j": {}})
    result = site.apfctl("cycle", "--all")
    assert result.returncode == 0, result.stderr
    pilot = records(result)["SL:ODD%j"]["submission"]["ids"][0]
    wait_for(lambda: _ended(site, "SL:ODD%j", 1), what="the pilot to end")
    folder = site.logs / f"{dt.datetime.now(dt.UTC):%Y-%m-%d}" / "SL%3AODD%25j"   # safe_name: : and % escaped
    assert "FACTORYQUEUE=SL:ODD%j" in (folder / f"{pilot}.out").read_text()   # % not taken as a pattern
    assert records(site.apfctl("status", "--all"))["SL:ODD%j"]["batch"]["done_1h"] == 1
