"""The pilot wrapper run for real (POSIX sh) around small payload scripts."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from apfctl import wrapper
from tests.auth import pki

WRAPPER = str(wrapper.path())
SHELLS = [shell for shell in ("dash", "bash") if shutil.which(shell)]


def make_payload(tmp_path: Path, body: str, name: str = "payload.sh") -> Path:
    script = tmp_path / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def run_wrapper(tmp_path: Path, *args: str, env: dict[str, str] | None = None, shell: str = "sh",
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("APFCTL_", "APFMON", "APFFID", "APFCID", "X509_", "BEARER_", "SLURM_"))}
    base.update({"APFCTL_WRAPPER_WORKDIR_BASE": str(tmp_path), "APFCTL_WRAPPER_MIN_DISK_MB": "1",
                 "APFCTL_WRAPPER_MIN_MEMORY_MB": "1", "OUT": str(tmp_path)})
    base.update(env or {})
    return subprocess.run([shell, WRAPPER, *args], capture_output=True, text=True, env=base, cwd=tmp_path,
                          timeout=timeout)


def checks(output: str) -> list[dict[str, str]]:
    """The uniform result lines, parsed."""
    found = []
    for line in output.splitlines():
        if line.startswith("apfctl-check: "):
            head, _, detail = line[len("apfctl-check: "):].partition(" detail=")
            fields = dict(item.split("=", 1) for item in head.split())
            fields["detail"] = detail
            found.append(fields)
    return found


def work_folders(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("apfctl-pilot.*"))


# --- profile, payload, exit code, clean-up ------------------------------------------------------
@pytest.mark.parametrize("shell", SHELLS)
def test_payload_runs_with_profile_and_exit_code_kept(tmp_path, shell):
    payload = make_payload(tmp_path, 'cp "$APFCTL_NODE_PROFILE" "$OUT/profile.json"\npwd > "$OUT/pwd"\n'
                                     'echo "args: $*"\nexit 7\n')
    result = run_wrapper(tmp_path, "--wrappervo=ATLAS", "--wrapperwmsqueue", "BNL_PROD", "--wrappergrid", "OSG",
                         "--", str(payload), "one", "two words",
                         env={"SLURM_JOB_ID": "4242", "APFCTL_WRAPPER_WALLTIME_LIMIT": "86400"}, shell=shell)
    assert result.returncode == 7, result.stdout + result.stderr
    assert "args: one two words" in result.stdout
    profile = json.loads((tmp_path / "profile.json").read_text())
    assert profile["batch_system"] == "slurm" and profile["batch_job_id"] == "4242"
    assert profile["walltime_limit"] == 86400 and profile["vo"] == "ATLAS" and profile["wmsqueue"] == "BNL_PROD"
    assert isinstance(profile["cpus"], int) and profile["cpus"] >= 1
    assert isinstance(profile["memory_mb"], int) and isinstance(profile["disk_free_mb"], int)
    assert len(profile["load"]) == 3 and profile["host"] and profile["batchqueue"] is None
    assert "node profile: {" in result.stdout
    ran_in = Path((tmp_path / "pwd").read_text().strip())
    assert ran_in.parent == tmp_path and not ran_in.exists() and work_folders(tmp_path) == []
    assert [c["name"] for c in checks(result.stdout)] == ["disk", "memory"]
    assert all(c["status"] == "ok" for c in checks(result.stdout))


def test_relative_payload_and_keep_workdir(tmp_path):
    make_payload(tmp_path, "exit 0\n", name="pilot.sh")
    result = run_wrapper(tmp_path, "--keep-workdir", "./pilot.sh")
    assert result.returncode == 0, result.stdout
    assert len(work_folders(tmp_path)) == 1 and "work folder kept" in result.stdout


# --- validation -----------------------------------------------------------------------------------
def test_failing_check_stops_the_pilot_with_its_code_and_result_line(tmp_path):
    payload = make_payload(tmp_path, 'touch "$OUT/ran"\n')
    result = run_wrapper(tmp_path, "--min-disk-mb", "999999999", str(payload))
    assert result.returncode == 81
    disk = checks(result.stdout)[-1]
    assert disk["name"] == "disk" and disk["status"] == "fail" and disk["metric"].endswith("MB")
    assert "below the minimum 999999999 MB" in disk["detail"]
    assert not (tmp_path / "ran").exists() and work_folders(tmp_path) == []


@pytest.mark.parametrize("args, code, name", [
    (["--min-memory-mb", "999999999"], 82, "memory"),
    (["--require-commands", "sh,no-such-command-xyz|also-missing"], 83, "commands"),
    (["--cvmfs", "atlas.cern.ch,missing.cern.ch"], 84, "cvmfs"),
])
def test_each_check_has_its_exit_code(tmp_path, args, code, name):
    (tmp_path / "cvmfs" / "atlas.cern.ch").mkdir(parents=True)
    (tmp_path / "cvmfs" / "atlas.cern.ch" / "repo").write_text("x")
    payload = make_payload(tmp_path, "exit 0\n")
    result = run_wrapper(tmp_path, *args, "--cvmfs-root", str(tmp_path / "cvmfs"), str(payload))
    assert result.returncode == code, result.stdout
    last = checks(result.stdout)[-1]
    assert last["name"] == name and last["status"] == "fail"


def test_passing_commands_and_cvmfs_checks(tmp_path):
    (tmp_path / "cvmfs" / "atlas.cern.ch").mkdir(parents=True)
    (tmp_path / "cvmfs" / "atlas.cern.ch" / "repo").write_text("x")
    payload = make_payload(tmp_path, "exit 0\n")
    result = run_wrapper(tmp_path, "--require-commands", "sh,tar,no-such-tool|cat", "--cvmfs", "atlas.cern.ch",
                         "--cvmfs-root", str(tmp_path / "cvmfs"), str(payload))
    assert result.returncode == 0, result.stdout
    assert {c["name"]: c["status"] for c in checks(result.stdout)} == {
        "disk": "ok", "memory": "ok", "commands": "ok", "cvmfs": "ok"}


def test_credential_lifetime_check_for_proxy_and_token(tmp_path):
    ca = pki.make_ca()
    user = pki.make_user(ca)
    payload = make_payload(tmp_path, "exit 0\n")
    fresh, expired = tmp_path / "fresh.pem", tmp_path / "expired.pem"
    fresh.write_bytes(pki.make_proxy(user, dt.timedelta(hours=12)))
    expired.write_bytes(pki.make_proxy(user, dt.timedelta(hours=-1)))
    ok = run_wrapper(tmp_path, "--min-credential-lifetime", "3600", str(payload), env={"X509_USER_PROXY": str(fresh)})
    assert ok.returncode == 0, ok.stdout
    credential = checks(ok.stdout)[-1]
    assert credential["name"] == "credential" and credential["status"] == "ok"
    assert 11 * 3600 < int(credential["metric"].rstrip("s")) <= 12 * 3600
    bad = run_wrapper(tmp_path, "--min-credential-lifetime", "3600", str(payload),
                      env={"X509_USER_PROXY": str(expired)})
    assert bad.returncode == 85 and checks(bad.stdout)[-1]["status"] == "fail"

    token = tmp_path / "token"
    token.write_text(pki.make_jwt(time.time() + 7200))
    good_token = run_wrapper(tmp_path, str(payload), env={"BEARER_TOKEN_FILE": str(token),
                                                          "APFCTL_WRAPPER_MIN_CREDENTIAL_LIFETIME": "600"})
    assert good_token.returncode == 0 and "token" in checks(good_token.stdout)[-1]["detail"]
    token.write_text(pki.make_jwt(time.time() - 10))
    old_token = run_wrapper(tmp_path, str(payload), env={"BEARER_TOKEN_FILE": str(token),
                                                         "APFCTL_WRAPPER_MIN_CREDENTIAL_LIFETIME": "600"})
    assert old_token.returncode == 85, old_token.stdout
    token.write_text("garbage")
    unreadable = run_wrapper(tmp_path, str(payload), env={"BEARER_TOKEN_FILE": str(token),
                                                          "APFCTL_WRAPPER_MIN_CREDENTIAL_LIFETIME": "600"})
    assert unreadable.returncode == 85 and "cannot read the lifetime" in checks(unreadable.stdout)[-1]["detail"]


def test_wms_check(tmp_path, httpserver):
    httpserver.expect_request("/api/v1/ping").respond_with_data("ok")
    payload = make_payload(tmp_path, "exit 0\n")
    up = run_wrapper(tmp_path, "--wrapperserverurl", httpserver.url_for("/api/v1/ping"), "--check-wms", "1",
                     str(payload))
    assert up.returncode == 0 and checks(up.stdout)[-1]["name"] == "wms"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    down = run_wrapper(tmp_path, "--check-wms", f"http://127.0.0.1:{dead_port}/", str(payload))
    assert down.returncode == 86 and "did not answer" in checks(down.stdout)[-1]["detail"]


# --- drop-in checks ----------------------------------------------------------------------------------
def test_dropin_checks_run_in_name_order_with_the_same_result_format(tmp_path):
    drop = tmp_path / "checks.d"
    drop.mkdir()
    (drop / "20-site.sh").write_text('echo "site scratch is fine"\n')
    (drop / "10-vo").write_text('#!/bin/sh\ntest -r "$APFCTL_NODE_PROFILE" || exit 1\necho "old kernel"\nexit 10\n')
    (drop / "10-vo").chmod(0o755)
    payload = make_payload(tmp_path, "exit 0\n")
    result = run_wrapper(tmp_path, "--checks-dir", str(drop), str(payload))
    assert result.returncode == 0, result.stdout
    found = checks(result.stdout)[2:]
    assert [(c["name"], c["status"], c["detail"]) for c in found] == [
        ("10-vo", "warn", "old kernel"), ("20-site.sh", "ok", "site scratch is fine")]

    (drop / "30-fail.sh").write_text('echo "no GPU"\nexit 3\n')
    failed = run_wrapper(tmp_path, "--checks-dir", str(drop), str(payload))
    assert failed.returncode == 87
    assert checks(failed.stdout)[-1] == {"name": "30-fail.sh", "status": "fail", "metric": "3", "detail": "no GPU"}


def test_hanging_dropin_check_is_stopped(tmp_path):
    drop = tmp_path / "checks.d"
    drop.mkdir()
    (drop / "50-hang.sh").write_text("sleep 600\n")
    payload = make_payload(tmp_path, 'touch "$OUT/ran"\n')
    result = run_wrapper(tmp_path, "--checks-dir", str(drop), "--check-timeout", "1", str(payload))
    assert result.returncode == 87 and not (tmp_path / "ran").exists()
    assert checks(result.stdout)[-1]["detail"] == "no result within 1 s (stopped)"


def test_dropin_checks_fetched_with_a_checksum(tmp_path, httpserver):
    body = b'#!/bin/sh\necho "fetched check ran"\n'
    httpserver.expect_request("/checks/remote.sh").respond_with_data(body)
    url = httpserver.url_for("/checks/remote.sh")
    payload = make_payload(tmp_path, "exit 0\n")
    good = run_wrapper(tmp_path, "--check-url", f"{url}#sha256={hashlib.sha256(body).hexdigest()}", str(payload))
    assert good.returncode == 0, good.stdout
    assert checks(good.stdout)[-1] == {"name": "remote.sh", "status": "ok", "metric": "0",
                                       "detail": "fetched check ran"}
    bad = run_wrapper(tmp_path, str(payload), env={"APFCTL_WRAPPER_CHECK_URLS": f"{url}#sha256={'0' * 64}"})
    assert bad.returncode == 88 and "checksum mismatch" in checks(bad.stdout)[-1]["detail"]
    unsigned = run_wrapper(tmp_path, "--check-url", url, str(payload))
    assert unsigned.returncode == 88 and "has no #sha256=" in checks(unsigned.stdout)[-1]["detail"]


# --- apfmon -------------------------------------------------------------------------------------------
def test_apfmon_hears_running_and_exiting_with_the_exit_code(tmp_path, httpserver):
    httpserver.expect_request("/api/jobs/test-factory:1234.5", method="POST").respond_with_data("ok")
    payload = make_payload(tmp_path, "exit 3\n")
    result = run_wrapper(tmp_path, str(payload), env={"APFMON": httpserver.url_for("/api/"),
                                                      "APFFID": "test-factory", "APFCID": "1234.5"})
    assert result.returncode == 3
    forms = [dict(request.form) for request, _ in httpserver.log]
    assert forms == [{"state": "running"}, {"state": "exiting", "rc": "3"}]


def test_dead_apfmon_does_not_hold_the_payload_beyond_the_timeout(tmp_path):
    with socket.socket() as silent:               # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        payload = make_payload(tmp_path, 'touch "$OUT/ran"\nexit 0\n')
        result = run_wrapper(tmp_path, "--apfmon-timeout", "1", str(payload), timeout=30,
                             env={"APFMON": f"http://127.0.0.1:{port}/api", "APFFID": "f", "APFCID": "1"})
    assert result.returncode == 0 and (tmp_path / "ran").exists()
    assert "apfmon: running not sent" in result.stdout and "apfmon: exiting not sent" in result.stdout


# --- signals ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig, name", [(signal.SIGTERM, "TERM"), (signal.SIGINT, "INT")])
def test_signal_reaches_the_payload(tmp_path, sig, name):
    payload = make_payload(tmp_path, f"""trap 'echo got {name} > "$OUT/signal"; exit 42' {name}
trap 'echo got USR1 >> "$OUT/usr1"' USR1
touch "$OUT/started"
i=0
while [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
exit 0
""")
    env = {key: value for key, value in os.environ.items() if not key.startswith("APF")}
    env.update(APFCTL_WRAPPER_WORKDIR_BASE=str(tmp_path), APFCTL_WRAPPER_MIN_DISK_MB="1",
               APFCTL_WRAPPER_MIN_MEMORY_MB="1", OUT=str(tmp_path))
    process = subprocess.Popen(["sh", WRAPPER, str(payload)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists():
            assert time.monotonic() < deadline and process.poll() is None, "the payload did not start"
            time.sleep(0.05)
        process.send_signal(signal.SIGUSR1)
        while not (tmp_path / "usr1").exists():
            assert time.monotonic() < deadline, "USR1 did not reach the payload"
            time.sleep(0.05)
        process.send_signal(sig)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 42, output
    assert (tmp_path / "signal").read_text().strip() == f"got {name}"
    assert f"received SIG{name}; forwarding to the payload" in output
    assert work_folders(tmp_path) == []


# --- payload sources, APF options, usage ----------------------------------------------------------------
def test_payload_fetched_from_a_url(tmp_path, httpserver):
    httpserver.expect_request("/pilot/runpilot.sh").respond_with_data('#!/bin/sh\necho "remote pilot $1"\n')
    result = run_wrapper(tmp_path, httpserver.url_for("/pilot/runpilot.sh"), "hello")
    assert result.returncode == 0 and "remote pilot hello" in result.stdout
    missing = run_wrapper(tmp_path, httpserver.url_for("/pilot/absent.sh"))
    assert missing.returncode == 89 and "could not fetch the payload" in missing.stdout


def test_apf_tarball_mode_runs_wrapper_py_with_the_options(tmp_path, httpserver):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        code = b"import sys\nprint('wrapper.py got', ' '.join(sys.argv[1:]))\n"
        info = tarfile.TarInfo("wrapper.py")
        info.size = len(code)
        tar.addfile(info, io.BytesIO(code))
    httpserver.expect_request("/wrapper.tar.gz").respond_with_data(buffer.getvalue())
    url = httpserver.url_for("/wrapper.tar.gz")
    result = run_wrapper(tmp_path, "--wrappervo=ATLAS", "--wrapperwmsqueue=Q", "--wrapperbatchqueue=B",
                         f"--wrappertarballurl=http://127.0.0.1:1/absent.tar.gz,{url}", "--wrapperloglevel=debug")
    assert result.returncode == 0, result.stdout
    assert "wrapper.py got --wrappervo=ATLAS --wrapperwmsqueue=Q --wrapperbatchqueue=B" in result.stdout


@pytest.mark.parametrize("args, code, message", [
    ([], 80, "no payload given"),                                             # bad usage
    (["--frobnicate", "1", "/bin/true"], 80, "unknown option --frobnicate"),
    (["--min-disk-mb", "lots", "/bin/true"], 80, "not a whole number: lots"),
    (["/no/such/payload"], 89, "payload /no/such/payload does not exist"),    # payload not found
])
def test_bad_usage(tmp_path, args, code, message):
    result = run_wrapper(tmp_path, *args)
    assert result.returncode == code
    assert message in result.stdout


# --- the script itself and its commands ------------------------------------------------------------------
def test_shellcheck_is_clean():
    """In CI (make test installs shellcheck as root) a missing shellcheck is a failure."""
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is not installed (make test installs it when run as root)")
        pytest.skip("shellcheck is not installed: apt-get install shellcheck")
    scripts = [WRAPPER, str(Path(WRAPPER).parents[1] / "demo" / "demo-pilot.sh")]
    result = subprocess.run(["shellcheck", "--shell=sh", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_show_and_install_commands(tmp_path):
    apfctl = [sys.executable, "-m", "apfctl", "wrapper"]
    shown = subprocess.run([*apfctl, "show"], capture_output=True, text=True, check=True)
    assert shown.stdout == Path(WRAPPER).read_text()
    where = subprocess.run([*apfctl, "show", "--path"], capture_output=True, text=True, check=True)
    assert where.stdout.strip() == WRAPPER
    installed = subprocess.run([*apfctl, "install", str(tmp_path)], capture_output=True, text=True, check=True)
    target = Path(installed.stdout.strip())
    assert target == tmp_path / "apfctl-wrapper.sh" and os.access(target, os.X_OK)
    assert target.read_text() == shown.stdout
    refused = subprocess.run([*apfctl, "install", str(tmp_path / "no" / "such" / "dir" / "w.sh")],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "does not exist" in refused.stderr


def test_queues_name_the_wrapper():
    from apfctl.config.model import Origin, QueueConfig, RawValue

    def queue(value: str | None) -> QueueConfig:
        values = {} if value is None else {"executable": RawValue(value, Origin("queues.conf", 3))}
        return QueueConfig("Q", values)

    assert wrapper.resolve_executable(queue(None)) == WRAPPER
    assert wrapper.resolve_executable(queue("apfctl-wrapper")) == WRAPPER
    assert wrapper.resolve_executable(queue("/usr/libexec/runpilot3-wrapper.sh")) == "/usr/libexec/runpilot3-wrapper.sh"
    assert wrapper.resolve_executable(queue("sleep")) == "sleep"
