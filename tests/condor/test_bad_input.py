"""Bad input: one clear error naming the queue and key, at config check and at submit; nothing submitted."""

from __future__ import annotations

import pytest
from apfctl_condor.description import Description, UnsafeValue, add_attributes, split_attributes
from condor_helpers import loaded, queue_section, submit_plugin

from apfctl.config.validate import check
from apfctl.errors import BackendError

CYCLE = "20261125T060000Z-3f2a"


def errors(ld) -> list[str]:
    return [str(e) for e in check(ld).errors]


@pytest.mark.parametrize("plugin, body, key, words", [
    ("CondorCE", "batchsubmit.condorce.gridresource = ce01.example.org\n  queue 100\n",
     "batchsubmit.condorce.gridresource", "not a host name"),
    ("CondorCE", "batchsubmit.condorce.gridresource = ce01 example.org\n",
     "batchsubmit.condorce.gridresource", "not a host name"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes = request_memory = 2000, queue 5\n",
     "batchsubmit.condorlocal.condor_attributes", "is not 'command = value'"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes = queue = 5\n",
     "batchsubmit.condorlocal.condor_attributes", "is a queue statement"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes.requirements = queue 5\n",
     "batchsubmit.condorlocal.condor_attributes.requirements", "is a queue statement"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes.requirements = true \\\n",
     "batchsubmit.condorlocal.condor_attributes.requirements", "backslash"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes = request_memory = 2000, +match_apf_queue = \"X\"\n",
     "batchsubmit.condorlocal.condor_attributes", "'+match_apf_queue' is set by apfctl itself"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes = MY.ApfctlCycle = \"x\"\n",
     "batchsubmit.condorlocal.condor_attributes", "'MY.ApfctlCycle' is set by apfctl itself"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes.Executable = /bin/evil\n",
     "batchsubmit.condorlocal.condor_attributes.Executable", "is set by apfctl itself"),
    ("CondorLocal", "batchsubmit.condorlocal.condor_attributes.+APF_QUEUE = \"X\"\n",
     "batchsubmit.condorlocal.condor_attributes.+APF_QUEUE", "is set by apfctl itself"),
    ("CondorCE", "batchsubmit.condorce.gridresource = ce01.example.org\n"
     "batchsubmit.condorce.condor_attributes = x509userproxy = /tmp/other\n",
     "batchsubmit.condorce.condor_attributes", "is set by apfctl itself"),
    ("CondorLocal", "executable.arguments = -q X\n  queue 100\n", "executable.arguments", "line break"),
    ("CondorLocal", "batchsubmit.condorlocal.environ = A=\"1\"\n", "batchsubmit.condorlocal.environ",
     "no double quotes"),
    ("CondorGrid", "batchsubmit.condorgrid.gridresource = unicore host\n", "batchsubmit.condorgrid.gridresource",
     "unknown grid type 'unicore'"),
    ("CondorGrid", "batchsubmit.condorgrid.gridresource = gt2 gk.example.org/jobmanager-condor\n",
     "batchsubmit.condorgrid.gridresource", "use CondorCE or CondorARC"),
    ("CondorLocal", "batchsubmit.condorlocal.proxyfile = /nonexistent/proxy.pem\n",
     "batchsubmit.condorlocal.proxyfile", "cannot be read"),
    ("CondorSSH", "batchsubmit.condorssh.batch = slurm\n", "batchsubmit.condorssh.host", "required key is missing"),
])
def test_bad_values_fail_config_check_and_submit(tmp_path, pool, plugin, body, key, words):
    ld = loaded(tmp_path, queue_section("Q1", plugin, body))
    found = errors(ld)
    assert any("[Q1]" in e and key in e and words in e for e in found), found
    with pytest.raises(BackendError) as caught:
        submit_plugin(ld, "Q1").submit(3, CYCLE)
    assert "Q1" in str(caught.value)
    assert pool.schedd().jobs == {}


@pytest.mark.parametrize("name, replacement", [("CondorGT2", "CondorCE"), ("CondorGT5", "CondorCE"),
                                               ("CondorGRAM", "CondorCE"), ("CondorCREAM", "CondorARC")])
def test_dead_middleware_is_refused_at_config_check_naming_the_replacement(tmp_path, name, replacement):
    ld = loaded(tmp_path, queue_section("Q1", name))
    found = errors(ld)
    assert any("[Q1]" in e and "batchsubmitplugin" in e and "no longer supported" in e and replacement in e
               for e in found), found


def test_a_bad_hold_release_rule_fails_config_check(tmp_path):
    ld = loaded(tmp_path, queue_section("Q1", body="batchsubmit.condorlocal.clean.held.release = 13, /unclosed[/\n"))
    assert any("batchsubmit.condorlocal.clean.held.release" in e and "bad reason pattern" in e for e in errors(ld))


def test_an_unknown_batch_system_names_the_choices(tmp_path):
    ld = loaded(tmp_path, queue_section("Q1", "CondorBatch", "batchsubmit.condorbatch.batch = torque\n"))
    assert any("batchsubmit.condorbatch.batch" in e and "slurm" in e for e in errors(ld))


def test_a_good_queue_passes_config_check(tmp_path):
    (tmp_path / "proxy").write_text("x")
    ld = loaded(tmp_path, queue_section("Q1", "CondorCE", "batchsubmit.condorce.gridresource = ce01.example.org\n"
                                        f"batchsubmit.condorce.x509userproxy = {tmp_path / 'proxy'}\n"))
    assert errors(ld) == []


@pytest.mark.parametrize("plugin, body", [
    ("CondorCE", "batchsubmit.condorce.gridresource = ce01.example.org\n"),
    ("CondorOSGCE", "batchsubmit.condorosgce.gridresource = ce01.example.org\n"),
    ("CondorARC", "batchsubmit.condorarc.gridresource = arc01.example.org\n"),
    ("CondorNordugrid", "batchsubmit.condornordugrid.gridresource = arc01.example.org\n"),
])
def test_a_ce_or_arc_queue_without_any_credential_fails_config_check(tmp_path, plugin, body):
    """HTCondor requires a proxy or a token for CE and ARC pilots."""
    found = errors(loaded(tmp_path, queue_section("Q1", plugin, body)))
    assert len(found) == 1 and "need a credential and none is set" in found[0], found
    assert "x509userproxy" in found[0] and "scitokens_file" in found[0]


@pytest.mark.parametrize("command", ["MATCH_APF_QUEUE", "+APF_QUEUE", "MY.ApfctlFactory", "+apfctlcycle",
                                     "FACTORY_JOBID", "dir", "Output", "error", "log", "environment",
                                     "executable", "arguments", "universe", "grid_resource", "X509UserProxy"])
def test_extra_attributes_cannot_override_apfctls_own_lines(command):
    with pytest.raises(UnsafeValue, match="set by apfctl itself"):
        add_attributes(Description(), f"request_cpus = 8, {command} = 1", "some.key", ValueError)
    description = Description()
    add_attributes(description, "request_cpus = 8, +MyDir = 1, output_destination = x", "some.key", ValueError)
    assert len(description.lines) == 3


def test_description_refuses_injection_directly():
    description = Description()
    for command, value in [("arguments", "a\nqueue 9"), ("arguments", "a\rb"), ("arguments", "queue"),
                           ("queue", "1"), ("bad name", "1"), ("+X\nY", "1"), ("arguments", "x\u2028y")]:
        with pytest.raises(UnsafeValue):
            description.add(command, value, "some.key")
    description.add("arguments", "-q queue1 --queue 3")   # the word inside a value is fine
    assert description.render(2) == "arguments = -q queue1 --queue 3\nqueue 2\n"


def test_condor_attributes_escaping_is_apfs():
    assert split_attributes(r"a = 1, b = x\,y, c = back\\slash, d = \n") == \
        ["a = 1", "b = x,y", r"c = back\slash", r"d = \n"]
