"""apfctl without the HTCondor bindings (``htcondor`` is the ``condor`` extra).

Each test runs apfctl in a subprocess in which ``htcondor``, ``htcondor2``, ``classad`` and
``classad2`` cannot be imported, as on a host where ``pip install apfctl`` left them out.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.core.core_helpers import factory

# Makes the bindings unimportable, then runs apfctl's CLI on the arguments; at exit it says
# on stderr whether any of them got imported after all.
WITHOUT_BINDINGS = """
import sys
BLOCKED = {"htcondor", "htcondor2", "classad", "classad2"}

class Uninstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Uninstalled)
import atexit
atexit.register(lambda: print("imported:", sorted(BLOCKED & set(sys.modules)), file=sys.stderr))
from apfctl.cli import main
sys.exit(main())
"""

QUEUES = """
    [DEFAULT]
    enabled = True
    wmsstatusplugin = File
    wmsstatus.file.path = wms.json
    schedplugin = Ready
    executable = /bin/true

    [LOCAL_Q]
    batchstatusplugin = Local
    batchsubmitplugin = Local

    [CONDOR_Q]
    batchstatusplugin = Condor
    batchsubmitplugin = CondorCE
    batchsubmit.condorce.gridresource = ce01.example.org
    """


def run_without_bindings(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, APFCTL_STATE_DIR=str(tmp / "state"), APFCTL_CONFIG=str(tmp / "apfctl.conf"),
               CONDOR_CONFIG="/dev/null")
    return subprocess.run([sys.executable, "-c", WITHOUT_BINDINGS, *args], capture_output=True, text=True,
                          env=env, timeout=120)


def setup(tmp: Path) -> None:
    factory(tmp, QUEUES)
    (tmp / "wms.json").write_text(json.dumps({"LOCAL_Q": {"ready": 0}, "CONDOR_Q": {"ready": 0}}))


def test_htcondor_is_an_extra_and_the_test_extra_has_it() -> None:
    requires = importlib.metadata.requires("apfctl") or []
    htcondor = sorted(r.replace(" ", "") for r in requires if r.lower().startswith("htcondor"))
    assert htcondor == ['htcondor>=24.0;extra=="condor"', 'htcondor>=24.0;extra=="test"']


def test_a_condor_queue_is_a_config_error_naming_the_extra(tmp_path: Path) -> None:
    setup(tmp_path)
    result = run_without_bindings(tmp_path, "config", "check")
    assert result.returncode == 2, result.stderr
    conf = tmp_path / "queues.conf"
    for line, key, plugin, kind in ((13, "batchstatusplugin", "Condor", "batchstatus"),
                                    (14, "batchsubmitplugin", "CondorCE", "batchsubmit")):
        assert (f"error: {conf}:{line} [CONDOR_Q] {key} = '{plugin}': {kind} plugin '{plugin}' needs the Python "
                "module htcondor2, which is not installed: pip install 'apfctl[condor]'") in result.stderr
    assert "Traceback" not in result.stderr and "[LOCAL_Q]" not in result.stderr
    assert "unknown key" not in result.stderr          # the plugin's keys are not known without it
    assert "imported: []" in result.stderr


def test_the_other_queues_cycle_without_the_bindings(tmp_path: Path) -> None:
    setup(tmp_path)
    result = run_without_bindings(tmp_path, "cycle", "--all", "--format", "json")
    assert result.returncode == 1, result.stderr                 # the Condor queue is skipped, said
    assert "[CONDOR_Q] batchstatusplugin = 'Condor'" in result.stderr and "apfctl[condor]" in result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["queue"] == "LOCAL_Q" and record["batch"]["ok"] and record["decision"]["pilots"] == 0
    assert "imported: []" in result.stderr


def test_every_other_plugin_loads_without_the_bindings(tmp_path: Path) -> None:
    code = WITHOUT_BINDINGS.replace("from apfctl.cli import main\nsys.exit(main())\n", """
from apfctl import plugins
from apfctl.errors import PluginError
for kind in plugins.GROUPS:
    for name in plugins.names(kind):
        try:
            found = plugins.find(kind, name, allow_refused=True)
        except PluginError as exc:
            print("refused", kind, name, exc)
        else:
            print("loaded", kind, name, found.__module__)
""")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, CONDOR_CONFIG="/dev/null"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    refused = [line for line in lines if line.startswith("refused")]
    loaded = [line for line in lines if line.startswith("loaded")]
    assert refused and all("apfctl[condor]" in line and " Condor" in line for line in refused), refused
    assert not [line for line in loaded if line.endswith(("apfctl_condor.batchstatus", "apfctl_condor.wmsstatus"))]
    families = {line.rsplit(" ", 1)[1].split(".")[0] for line in loaded}
    assert {"apfctl_local", "apfctl_slurm", "apfctl_panda", "apfctl_apfmon", "apfctl_sched"} <= families
    assert "imported: []" in result.stderr
