"""CondorEC2 bad input: a config error naming the queue and the key, at config check and at submit."""

from __future__ import annotations

import pytest

from apfctl.config.validate import check
from apfctl.errors import BackendError
from tests.condor.condor_helpers import loaded, queue_section, submit_plugin

CYCLE = "20261201T060000Z-ec2a"


def key_files(tmp_path, mode: int = 0o600) -> str:
    folder = tmp_path / "keys"
    folder.mkdir(exist_ok=True)
    lines = ""
    for name in ("access_key_id", "secret_access_key"):
        path = folder / name
        path.write_text("x\n")
        path.chmod(mode)
        lines += f"batchsubmit.condorec2.{name} = {path}\n"
    return lines


def ec2(tmp_path, extra: str = "", mode: int = 0o600) -> str:
    return queue_section("VM", "CondorEC2", "batchsubmit.condorec2.gridresource = http://127.0.0.1:1/\n"
                         "batchsubmit.condorec2.ami_id = ami-03cf127a\n"
                         "batchsubmit.condorec2.instance_type = t2.micro\n" + key_files(tmp_path, mode) + extra)


def errors(ld) -> list[str]:
    return [str(e) for e in check(ld).errors]


@pytest.mark.parametrize("body, key, words", [
    ("batchsubmit.condorec2.ami_id = ami 123\n", "batchsubmit.condorec2.ami_id", "is not an EC2 name"),
    ("batchsubmit.condorec2.ami_id = \"ami-123\"\n", "batchsubmit.condorec2.ami_id", "is not an EC2 name"),
    ("batchsubmit.condorec2.instance_type = m5.large'\n", "batchsubmit.condorec2.instance_type",
     "is not an EC2 name"),
    ("batchsubmit.condorec2.instance_type = m5.large\n  queue 5\n", "batchsubmit.condorec2.instance_type",
     "is not an EC2 name"),
    ("batchsubmit.condorec2.security_groups = default, my group\n", "batchsubmit.condorec2.security_groups",
     "'my group' is not an EC2 name"),
    ("batchsubmit.condorec2.spot_price = 0\n", "batchsubmit.condorec2.spot_price", "not a positive number"),
    ("batchsubmit.condorec2.spot_price = -0.5\n", "batchsubmit.condorec2.spot_price", "not a positive number"),
    ("batchsubmit.condorec2.spot_price = cheap\n", "batchsubmit.condorec2.spot_price", "expected"),
    ("batchsubmit.condorec2.user_data = " + "x" * (16 * 1024 + 1) + "\n", "batchsubmit.condorec2.user_data",
     "more than EC2's 16384 bytes"),
    ("batchsubmit.condorec2.usessh = True\n", "batchsubmit.condorec2.usessh", "through the htcondor2 bindings"),
    ("batchsubmit.condorec2.vm.collector = pool.example.org\n", "batchsubmit.condorec2.vm.collector",
     "not host:port"),
    ("batchsubmit.condorec2.vm.instance_attribute = EC2 Id\n", "batchsubmit.condorec2.vm.instance_attribute",
     "not a ClassAd attribute name"),
])
def test_bad_ec2_values_fail_config_check_and_submit(tmp_path, pool, body, key, words):
    ld = loaded(tmp_path, ec2(tmp_path, body))
    found = errors(ld)
    assert any("[VM]" in e and key in e and words in e for e in found), found
    with pytest.raises(BackendError) as caught:
        submit_plugin(ld, "VM").submit(1, CYCLE)
    assert "VM" in str(caught.value) and key in str(caught.value)
    assert pool.schedd().jobs == {}


def test_user_data_file_larger_than_ec2_takes_is_a_config_error(tmp_path, pool):
    big = tmp_path / "user-data"
    big.write_bytes(b"#!/bin/sh\n" + b"x" * 16 * 1024)
    ld = loaded(tmp_path, ec2(tmp_path, f"batchsubmit.condorec2.user_data_file = {big}\n"))
    found = errors(ld)
    assert any("[VM]" in e and "batchsubmit.condorec2.user_data_file" in e and "16394 bytes" in e
               for e in found), found


def test_key_files_open_to_others_are_refused_and_nothing_is_submitted(tmp_path, pool):
    ld = loaded(tmp_path, ec2(tmp_path, mode=0o644))
    found = errors(ld)
    assert any("batchsubmit.condorec2.access_key_id" in e and "mode 0644" in e and "chmod 600" in e
               for e in found), found
    with pytest.raises(BackendError, match="open to others"):
        submit_plugin(ld, "VM").submit(1, CYCLE)
    assert pool.schedd().jobs == {}


def test_missing_key_files_are_refused_at_check_and_submit(tmp_path, pool):
    ld = loaded(tmp_path, ec2(tmp_path))
    (tmp_path / "keys" / "secret_access_key").unlink()
    found = errors(ld)
    assert any("batchsubmit.condorec2.secret_access_key" in e and "cannot read the key file" in e
               for e in found), found
    with pytest.raises(BackendError, match=r"secret_access_key.*cannot read the key file"):
        submit_plugin(ld, "VM").submit(1, CYCLE)


def test_spot_price_user_data_and_security_groups_lines(tmp_path, pool):
    ld = loaded(tmp_path, ec2(tmp_path, "batchsubmit.condorec2.spot_price = 0.25\n"
                                        "batchsubmit.condorec2.user_data = role=worker\n"
                                        "batchsubmit.condorec2.security_groups = default, workers\n"))
    assert errors(ld) == []
    text = submit_plugin(ld, "VM").describe(2, CYCLE)
    lines = text.splitlines()
    assert "ec2_spot_price = 0.250000" in lines
    assert "ec2_user_data = role=worker" in lines
    assert "ec2_security_groups = default,workers" in lines
    assert lines.index("ec2_ami_id = ami-03cf127a") > lines.index("+MATCH_APF_QUEUE = \"VM\"")   # after APF's block


def test_an_ec2_endpoint_answering_errors_gives_its_queue_no_vms_with_the_reason_and_others_go_on(
        tmp_path, pool, httpserver):
    import json

    from apfctl.ledger import Ledger
    from apfctl.stages.status import collect
    from apfctl.stages.submit import Submitter

    httpserver.expect_request("/broken/").respond_with_data("overloaded", status=503)
    httpserver.expect_request("/ec2/").respond_with_data("<Error>MissingAction</Error>", status=400)
    broken = ec2(tmp_path).replace("[VM]", "[BROKEN]").replace("http://127.0.0.1:1/", httpserver.url_for("/broken/"))
    fine = ec2(tmp_path).replace("[VM]", "[FINE]").replace("http://127.0.0.1:1/", httpserver.url_for("/ec2/"))
    ld = loaded(tmp_path, broken + fine + queue_section("LOCAL"))
    assert errors(ld) == []
    records = collect(ld, ["BROKEN", "FINE", "LOCAL"])
    with Ledger(ld.context.state_dir) as ledger:
        done = {}
        for record in records:
            record["decision"] = {"pilots": 2, "rule": "test", "reason": "test", "steps": []}
            done[record["queue"]] = Submitter(ld, ledger).submit(json.loads(json.dumps(record)))["submission"]
    assert done["BROKEN"]["submitted"] == 0
    assert "EC2 endpoint" in done["BROKEN"]["error"] and "HTTP 503" in done["BROKEN"]["error"]
    assert done["FINE"]["submitted"] == 2 and done["FINE"]["error"] is None   # a client error: EC2 is there
    assert done["LOCAL"]["submitted"] == 2
    queues = sorted({ad["MATCH_APF_QUEUE"] for ad in pool.schedd().jobs.values()})
    assert queues == ["FINE", "LOCAL"]


def test_a_vm_pool_that_does_not_answer_fails_that_queues_status_only(tmp_path, pool):
    import socket

    from apfctl.stages.status import collect

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    ld = loaded(tmp_path, ec2(tmp_path, f"batchsubmit.condorec2.vm.collector = 127.0.0.1:{closed}\n")
                + queue_section("LOCAL"))
    records = {r["queue"]: r["batch"] for r in collect(ld, ["VM", "LOCAL"])}
    assert records["VM"]["ok"] is False and f"collector 127.0.0.1:{closed}" in records["VM"]["error"]
    assert records["LOCAL"]["ok"] is True
