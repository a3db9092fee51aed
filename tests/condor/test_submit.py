"""Submit plugins: APF's description in APF's order, stamps, credentials, one submit call."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest

from tests.condor.condor_helpers import loaded, queue_section, submit_plugin

CYCLE = "20261125T060000Z-3f2a"


def day() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y-%m-%d}"


def lines(text: str) -> list[str]:
    return text.splitlines()


def commands(text: str) -> list[str]:
    return [line.split(" = ", 1)[0] for line in lines(text)]


def test_condor_local_description_is_apfs_in_apfs_order(tmp_path):
    proxy = tmp_path / "proxy.pem"
    proxy.write_text("x")
    (tmp_path / "monitor.conf").write_text("[apfmon-lancs]\nmonitorURL = http://apfmon.example.org/api\n")
    ld = loaded(tmp_path, queue_section("BNL/1", body=f"""
        monitorsection = apfmon-lancs
        batchsubmit.condorlocal.proxyfile = {proxy}
        batchsubmit.condorlocal.environ = A=1 B='x y'
        batchsubmit.condorlocal.condor_attributes = request_memory = 2000, +Note = "a\\,b"
        batchsubmit.condorlocal.condor_attributes.periodic_remove = JobStatus == 5
        """), extra=f"monitorConf = {tmp_path / 'monitor.conf'}")
    url = f"http://factory.example.org:25880/{day()}/BNL%252F1"   # the folder BNL%2F1, quoted
    text = submit_plugin(ld, "BNL/1").submit(5, CYCLE, dry_run=True).description
    assert text == "\n".join([
        "universe = vanilla",
        "should_transfer_files = IF_NEEDED",
        '+TransferOutput = ""',
        f"x509userproxy = {proxy}",
        f"Dir = {tmp_path}/logs/{day()}/BNL%2F1/",
        "notify_user = admin@example.org",
        '+MATCH_APF_QUEUE = "BNL/1"',
        f'+FACTORY_JOBID = "{socket.gethostname()}#$(Cluster).$(Process)"',
        '+APF_QUEUE = "BNL/1"',
        f'+APF_LOGURL = "{url}/$(Cluster).$(Process).log"',
        f'+APF_OUTURL = "{url}/$(Cluster).$(Process).out"',
        f'+APF_ERRURL = "{url}/$(Cluster).$(Process).err"',
        '+ApfctlFactory = "test-factory"',
        f'+ApfctlCycle = "{CYCLE}"',
        f'environment = "PANDA_JSID=test-factory GTAG={url}/$(Cluster).$(Process).out APFCID=$(Cluster).$(Process) '
        f"APFFID=test-factory FACTORY_JOBID={socket.gethostname()}#$(Cluster).$(Process) "
        "APFMON=http://apfmon.example.org/api FACTORYQUEUE=BNL/1 FACTORYUSER=apf A=1 B='x y'\"",
        "executable = /usr/bin/runpilot.sh",
        "arguments = -q BNL/1 -s SITE",
        "output = $(Dir)/$(Cluster).$(Process).out",
        "error = $(Dir)/$(Cluster).$(Process).err",
        "log = $(Dir)/$(Cluster).$(Process).log",
        "stream_output = False",
        "stream_error = False",
        "notification = Error",
        "transfer_executable = True",
        "request_memory = 2000",
        '+Note = "a,b"',
        "periodic_remove = JobStatus == 5",
        "queue 5",
        ""])


def test_submit_is_one_call_with_count_and_returns_cluster_proc_ids(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    plugin = submit_plugin(ld, "BNL")
    result = plugin.submit(3, CYCLE)
    assert result.ids == ["1.0", "1.1", "1.2"]
    schedd = pool.schedd()
    assert schedd.calls == ["submit"]
    ad = schedd.jobs[(1, 1)]
    assert (ad["MATCH_APF_QUEUE"], ad["ApfctlFactory"], ad["ApfctlCycle"]) == ("BNL", "test-factory", CYCLE)
    assert ad["APF_OUTURL"].endswith(f"/{day()}/BNL/1.1.out")
    assert (tmp_path / "logs" / day() / "BNL").is_dir()   # the pilots' output folder exists
    assert plugin.find_submitted(CYCLE) == ["1.0", "1.1", "1.2"]
    assert plugin.find_submitted("20261125T070000Z-beef") == []


def test_find_submitted_sees_pilots_of_the_cycle_that_already_left(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    plugin = submit_plugin(ld, "BNL")
    cycle = f"{dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1):%Y%m%dT%H%M%SZ}-0001"
    plugin.submit(2, cycle)
    pool.schedd().finish("1.0", exit_code=0)
    assert plugin.find_submitted(cycle) == ["1.0", "1.1"]


def test_find_submitted_scans_past_an_older_ad_that_reached_the_history_late(tmp_path, pool):
    ld = loaded(tmp_path, queue_section("BNL"))
    plugin = submit_plugin(ld, "BNL")
    cycle = f"{dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1):%Y%m%dT%H%M%SZ}-0001"
    plugin.submit(1, cycle)
    schedd = pool.schedd()
    schedd.finish("1.0", exit_code=0)
    late = schedd.add_job({"EnteredCurrentStatus": int(time.time()) - 3600, "JobStatus": 4})
    schedd.leave((late["ClusterId"], 0))
    assert plugin.find_submitted(cycle) == ["1.0"]


@pytest.mark.parametrize("plugin, body, expected", [
    ("CondorOSGCE", "batchsubmit.condorosgce.gridresource = ce01.example.org\n",
     ["grid_resource = condor ce01.example.org ce01.example.org:9619", '+TransferOutput = ""',
      "+Nonessential = True", "universe = grid"]),
    ("CondorCE", "batchsubmit.condorce.gridresource = ce01.example.org\nbatchsubmit.condorce.port = 9620\n",
     ["grid_resource = condor ce01.example.org ce01.example.org:9620", '+TransferOutput = ""',
      "+Nonessential = True", "universe = grid"]),
    ("CondorARC", "batchsubmit.condorarc.gridresource = https://arc01.example.org:443/arex\n"
                  "batchsubmit.condorarc.arc_rte = ENV/PROXY\n",
     ["grid_resource = arc https://arc01.example.org:443/arex", "arc_rte = ENV/PROXY", "+Nonessential = True",
      "universe = grid"]),
    ("CondorBatch", "batchsubmit.condorbatch.batch = slurm\n",
     ["grid_resource = batch slurm", '+TransferOutput = ""', "universe = grid"]),
    ("CondorSSH", "batchsubmit.condorssh.batch = pbs\nbatchsubmit.condorssh.host = login.example.org\n"
                  "batchsubmit.condorssh.user = atlas\n",
     ["grid_resource = batch pbs atlas@login.example.org", '+TransferOutput = ""', "universe = grid"]),
    ("CondorGrid", "batchsubmit.condorgrid.gridresource = batch lsf\n",
     ["grid_resource = batch lsf", "universe = grid"]),
])
def test_grid_plugins_put_their_lines_before_the_base_block(tmp_path, plugin, body, expected):
    ld = loaded(tmp_path, queue_section("Q", plugin, body))
    text = submit_plugin(ld, "Q").submit(2, CYCLE, dry_run=True).description
    assert lines(text)[:len(expected)] == expected
    assert lines(text)[len(expected)].startswith("Dir = ")
    assert lines(text)[-1] == "queue 2"


def test_nordugrid_rsl_is_mapped_to_arc_and_addenv_joins_the_environment(tmp_path):
    ld = loaded(tmp_path, queue_section("Q", "CondorNordugrid", """
        batchsubmit.condornordugrid.gridresource = arc01.example.org
        batchsubmit.condornordugrid.nordugridrsl = (queue=grid)(memory=2000)
        batchsubmit.condornordugrid.nordugridrsl.runtimeenvironment = APPS/HEP/ATLAS
        batchsubmit.condornordugrid.nordugridrsl.addenv.RUCIO_ACCOUNT = pilot
        """))
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    assert "grid_resource = arc arc01.example.org" in lines(text)
    assert "arc_resources = <QueueName>grid</QueueName>" in lines(text)
    assert "request_memory = 2000" in lines(text)
    assert "arc_rte = APPS/HEP/ATLAS" in lines(text)
    assert "RUCIO_ACCOUNT=pilot\"" in text


def test_unmappable_rsl_is_an_error_naming_the_key(tmp_path):
    from apfctl.config.validate import check

    ld = loaded(tmp_path, queue_section("Q", "CondorNordugrid", """
        batchsubmit.condornordugrid.gridresource = arc01.example.org
        batchsubmit.condornordugrid.nordugridrsl.gridtime = 600
        """))
    errors = [str(e) for e in check(ld).errors]
    assert any("nordugridrsl.gridtime" in e and "ARC's REST interface" in e for e in errors), errors


def test_ec2_lines_come_after_the_base_block(tmp_path):
    key = tmp_path / "key"
    key.write_text("k")
    ld = loaded(tmp_path, queue_section("VM", "CondorEC2", f"""
        batchsubmit.condorec2.gridresource = https://ec2.us-east-1.amazonaws.com/
        batchsubmit.condorec2.ami_id = ami-123
        batchsubmit.condorec2.instance_type = m5.large
        batchsubmit.condorec2.access_key_id = {key}
        batchsubmit.condorec2.secret_access_key = {key}
        batchsubmit.condorec2.spot_price = 0.1
        """))
    text = submit_plugin(ld, "VM").submit(1, CYCLE, dry_run=True).description
    names = commands(text)
    assert names.index("transfer_executable") < names.index("universe") < names.index("grid_resource")
    assert "executable = VM" in lines(text)   # APF's override: the VM runs its image
    assert "ec2_spot_price = 0.100000" in lines(text)
    assert "ec2_ami_id = ami-123" in lines(text)


def test_scitoken_from_the_queue_settings(tmp_path):
    token = tmp_path / "token"
    token.write_text("eyJ")
    ld = loaded(tmp_path, queue_section("Q", "CondorCE", f"""
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.scitokens_file = {token}
        """))
    assert f"scitokens_file = {token}" in lines(submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description)


def test_keys_of_apfs_parent_names_are_read(tmp_path):
    proxy = tmp_path / "proxy"
    proxy.write_text("x")
    ld = loaded(tmp_path, queue_section("Q", "CondorOSGCE", f"""
        batchsubmit.condorosgce.gridresource = ce01.example.org
        batchsubmit.condorgrid.proxyfile = {proxy}
        batchsubmit.condorbase.environ = FROM_BASE=1
        """))
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    assert f"x509userproxy = {proxy}" in lines(text)
    assert "FROM_BASE=1" in text


def test_submit_failure_is_a_backend_error_and_nothing_is_half_submitted(tmp_path, pool):
    from apfctl.errors import BackendError

    ld = loaded(tmp_path, queue_section("BNL"))
    pool.schedd().fail("submit", "unreachable")
    with pytest.raises(BackendError, match="local schedd: submit failed"):
        submit_plugin(ld, "BNL").submit(3, CYCLE)
    assert pool.schedd().jobs == {}


@pytest.mark.parametrize("profile, expected", [
    ("[atlas-prod]\nplugin = X509\nx509.proxyfile = {path}\nx509.renew = False\n", "x509userproxy = {path}"),
    ("[atlas-token]\nplugin = Token\ntoken.file = {path}\n", "scitokens_file = {path}"),
])
def test_auth_profiles_name_the_credential_as_in_apf(tmp_path, profile, expected):
    path = tmp_path / "credential"
    path.write_text("x")
    name = profile[1:profile.index("]")]
    (tmp_path / "auth.conf").write_text(profile.format(path=path))
    ld = loaded(tmp_path, queue_section("Q", "CondorCE", f"""
        batchsubmit.condorce.gridresource = ce01.example.org
        batchsubmit.condorce.proxy = {name}
        """), extra=f"authConf = {tmp_path / 'auth.conf'}")
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    assert expected.format(path=path) in lines(text)


def test_an_undefined_auth_profile_fails_check_naming_the_key(tmp_path):
    from apfctl.config.validate import check

    (tmp_path / "auth.conf").write_text("")
    ld = loaded(tmp_path, queue_section("Q", body="batchsubmit.condorlocal.proxy = nosuch\n"),
                extra=f"authConf = {tmp_path / 'auth.conf'}")
    errors = [str(e) for e in check(ld).errors]
    assert any("batchsubmit.condorlocal.proxy" in e and "nosuch" in e for e in errors), errors


def test_a_partial_submission_is_an_error_naming_the_pilots_made(tmp_path, pool, state):
    import json

    from apfctl.ledger import Ledger
    from apfctl.stages.submit import Submitter

    ld = loaded(tmp_path, queue_section("BNL"))
    pool.schedd().fail("submit", "partial")
    from apfctl.errors import BackendError

    with pytest.raises(BackendError, match=r"submit made 2 of 4 pilots \(1.0 1.1; description "):
        submit_plugin(ld, "BNL").submit(4, CYCLE)
    pool.schedd().fail("submit", "partial")
    record = {"queue": "BNL", "cycle": "20261125T060000Z-3f2b", "decision": {"pilots": 4}}
    with Ledger(ld.context.state_dir) as ledger:
        section = Submitter(ld, ledger).submit(json.loads(json.dumps(record)))["submission"]
    assert section["submitted"] == 0 and "submit made 2 of 4 pilots" in json.dumps(section["error"])


def test_the_submitted_description_is_kept_per_cycle_in_the_queue_log_folder(tmp_path, pool, state):
    import json

    from apfctl.ledger import Ledger
    from apfctl.stages.submit import Submitter
    from apfctl.workers import WorkerBlock, instance_id

    ld = loaded(tmp_path, queue_section("BNL"))
    record = {"queue": "BNL", "cycle": CYCLE, "decision": {"pilots": 2}}
    with Ledger(ld.context.state_dir) as ledger:
        section = Submitter(ld, ledger).submit(json.loads(json.dumps(record)))["submission"]
    log_dir, _ = ld.context.queue_log_dir("BNL")
    kept = log_dir / f"submit-{CYCLE}.sub"
    assert section["description_file"] == str(kept)
    plugin = submit_plugin(ld, "BNL")
    plugin.workers = WorkerBlock(instance_id(ld.factory), 1, 2)   # the ledger's first block of worker ids
    assert kept.read_text() == plugin.describe(2, CYCLE)
    assert kept.read_text().endswith("queue 2\n")


def test_factory_jobid_carries_the_real_host_name_without_hostname_in_the_environment(tmp_path, monkeypatch):
    """Defect: ``$ENV(HOSTNAME)`` is empty under cron and systemd, and FACTORY_JOBID was ``#1.0``."""
    import socket

    monkeypatch.delenv("HOSTNAME", raising=False)
    text = submit_plugin(loaded(tmp_path, queue_section("Q")), "Q").submit(1, CYCLE, dry_run=True).description
    host = socket.gethostname()
    assert f'+FACTORY_JOBID = "{host}#$(Cluster).$(Process)"' in lines(text)
    assert f"FACTORY_JOBID={host}#$(Cluster).$(Process)" in text and "$ENV(HOSTNAME)" not in text


@pytest.mark.parametrize("plugin, body, expected", [
    ("CondorPBS", "", "grid_resource = batch pbs"),
    ("CondorLSF", "batchsubmit.condorlsf.host = login.example.org\n", "grid_resource = batch lsf login.example.org"),
    ("CondorBatch", "batchsubmit.condorbatch.batch = flux\n", "grid_resource = batch flux"),
    ("CondorSSH", "batchsubmit.condorssh.batch = slurm\nbatchsubmit.condorssh.host = login.example.org\n"
                  "batchsubmit.condorssh.user = atlas\nbatchsubmit.condorssh.port = 2222\n",
     "grid_resource = batch slurm atlas@login.example.org:2222"),
])
def test_apfs_pbs_and_lsf_names_flux_and_the_ssh_port_in_the_host(tmp_path, plugin, body, expected):
    """CondorPBS/CondorLSF were unknown names; the port was written as --rgahp-port, which
    remote_gahp refuses (every pilot failed): it belongs in the host, user@host:PORT."""
    from apfctl.config.validate import check

    ld = loaded(tmp_path, queue_section("Q", plugin, body))
    assert not check(ld).errors, [str(e) for e in check(ld).errors]
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    assert expected in lines(text) and "rgahp-port" not in text


def test_condorpbs_refuses_another_batch_system(tmp_path):
    from apfctl.config.validate import check

    ld = loaded(tmp_path, queue_section("Q", "CondorPBS", "batchsubmit.condorpbs.batch = slurm\n"))
    assert any("CondorPBS submits to pbs" in str(e) for e in check(ld).errors)


def test_a_profile_under_an_apf_parent_name_is_used(tmp_path):
    path = tmp_path / "proxy"
    path.write_text("x")
    (tmp_path / "auth.conf").write_text(f"[prod]\nplugin = X509\nx509.proxyfile = {path}\nx509.renew = False\n")
    ld = loaded(tmp_path, queue_section("Q", "CondorOSGCE", """
        batchsubmit.condorosgce.gridresource = ce01.example.org
        batchsubmit.condorgrid.proxy = missing, prod
        """), extra=f"authConf = {tmp_path / 'auth.conf'}")
    assert f"x509userproxy = {path}" in lines(submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description)


def test_condor_ssh_takes_its_key_from_an_ssh_profile_as_apf_did(tmp_path):
    key = tmp_path / "id_rsa"
    key.write_text("k")
    (tmp_path / "auth.conf").write_text(f"[bosco]\nplugin = SSH\nssh.privatekeyfile = {key}\n")
    ld = loaded(tmp_path, queue_section("Q", "CondorSSH", """
        batchsubmit.condorssh.batch = slurm
        batchsubmit.condorssh.host = login.example.org
        batchsubmit.condorssh.user = atlas
        batchsubmit.condorssh.authprofile = bosco
        """), extra=f"authConf = {tmp_path / 'auth.conf'}")
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    assert f"grid_resource = batch slurm atlas@login.example.org --rgahp-key {key}" in lines(text)
    assert "x509userproxy" not in text


def test_the_arc_queue_and_arc_resources_make_one_adl_fragment(tmp_path):
    """Defect: two arc_resources lines, and the later one (without the queue) won."""
    ld = loaded(tmp_path, queue_section("Q", "CondorNordugrid", """
        batchsubmit.condornordugrid.gridresource = arc01.example.org
        batchsubmit.condornordugrid.nordugridrsl.queue = grid
        batchsubmit.condornordugrid.arc_resources = <SlotRequirement>8</SlotRequirement>
        """))
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    assert [line for line in lines(text) if line.startswith("arc_resources")] == [
        "arc_resources = <QueueName>grid</QueueName><SlotRequirement>8</SlotRequirement>"]


def test_apfs_own_queue_level_rsl_keys_are_read_as_apf_did(tmp_path):
    """APF's queues.conf example and AGIS plugin write nordugridrsl.* unprefixed, and AGIS adds
    ``batchsubmit.condornordugrid.nordugridrsl = (jobname = arc_pilot)``: mapped, or ignored with a warning."""
    from apfctl.config.validate import check

    ld = loaded(tmp_path, queue_section("Q", "CondorNordugrid", """
        batchsubmit.condornordugrid.gridresource = arc01.example.org
        batchsubmit.condornordugrid.scitokens_file = /etc/hostname
        batchsubmit.condornordugrid.nordugridrsl = (jobname = arc_pilot)
        nordugridrsl.nordugridrsladd = (runtimeenvironment = APPS/HEP/ATLAS-SITE-LCG)(runtimeenvironment = ENV/PROXY)
            (count = 8)(countpernode = 8)(memory = 2000)(walltime = 2880)
        nordugridrsl.queue = grid
        nordugridrsl.addenv.RUCIO_ACCOUNT = pilot
        """))
    report = check(ld)
    assert not report.errors, [str(e) for e in report.errors]
    assert not [w for w in report.warnings if "unknown key" in w], report.warnings
    text = submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True).description
    for line in ("arc_resources = <QueueName>grid</QueueName>", "arc_rte = APPS/HEP/ATLAS-SITE-LCG,ENV/PROXY",
                 "request_cpus = 8", "request_memory = 2000"):
        assert line in lines(text), text
    assert "RUCIO_ACCOUNT=pilot" in text


def test_ignored_rsl_is_named_in_a_warning(tmp_path, caplog):
    ld = loaded(tmp_path, queue_section("Q", "CondorNordugrid", """
        batchsubmit.condornordugrid.gridresource = arc01.example.org
        batchsubmit.condornordugrid.nordugridrsl = (jobname = arc_pilot)
        """))
    with caplog.at_level("WARNING", logger="apfctl.condor"):
        submit_plugin(ld, "Q").submit(1, CYCLE, dry_run=True)
    assert "jobname = arc_pilot (batchsubmit.condornordugrid.nordugridrsl)" in caplog.text
