"""Cloud mode on one machine: a local EC2 API and "VMs" that are small startds joining a pool.

* :class:`EC2API`: moto's EC2 backend served on 127.0.0.1 (a free port) in a thread of the
  test process. HTCondor's EC2 GAHP signs its requests for the URL's host (127.0.0.1), from
  which moto cannot tell the service and region; every request is therefore handed to moto
  as if addressed to EC2's us-east-1 endpoint. ``instances()`` reads the instances back.
* :class:`VMStartd`: what a booted VM image does: a condor_master running a startd that
  advertises the instance id (``EC2InstanceID``, in the startd's and the master's ad) and
  joins the user pool. It reads the pool's configuration and keeps its own state folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

POOL_USER = os.environ.get("APFCTL_CONDOR_USER", "htcuser")
EC2_REGION = "us-east-1"


class EC2API:
    """moto's EC2 on 127.0.0.1:<free port>; ``url`` is the ``grid_resource = ec2`` value."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app
        from werkzeug.serving import make_server

        backend = create_backend_app("ec2")

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["HTTP_HOST"] = f"ec2.{EC2_REGION}.amazonaws.com"
            return backend(environ, start_response)

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, name="ec2-api", daemon=True)
        self.thread.start()

    def client(self) -> Any:
        import boto3

        return boto3.client("ec2", endpoint_url=self.url.rstrip("/"), region_name=EC2_REGION,
                            aws_access_key_id="test", aws_secret_access_key="test")

    def instances(self) -> dict[str, dict[str, Any]]:
        """Instance id -> moto's description (State, InstanceType, ImageId, ...)."""
        found = {}
        for reservation in self.client().describe_instances()["Reservations"]:
            for instance in reservation["Instances"]:
                found[instance["InstanceId"]] = instance
        return found

    def user_data(self, instance: str) -> str | None:
        import base64

        answer = self.client().describe_instance_attribute(InstanceId=instance, Attribute="userData")
        value = (answer.get("UserData") or {}).get("Value")
        return base64.b64decode(value).decode() if value else None

    def image(self) -> str:
        """One of moto's images (HTCondor asks for ec2_ami_id of an existing image)."""
        return self.client().describe_images()["Images"][0]["ImageId"]

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def owned_by_pool_user(path: Path, mode: int) -> Path:
    """``path`` with ``mode``, owned by the pool's user when run as root (its GAHP reads it)."""
    path.chmod(mode)
    if os.geteuid() == 0:
        user = pwd.getpwnam(POOL_USER)
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


class VMStartd:
    """A "booted VM": condor_master + startd advertising ``instance``, joining the pool of ``config``."""

    def __init__(self, release: Path, pool_config: str, folder: Path, instance: str, cpus: int = 1) -> None:
        self.release = release
        self.folder = folder
        self.instance = instance
        for sub in ("log", "spool", "execute", "lock", "run", "config.d"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        pool_dir = Path(pool_config).parent
        self.config = folder / "condor_config"
        self.config.write_text(
            f"include : {pool_config}\n"
            f"LOCAL_DIR = {folder}\n"
            f"CERTIFICATE_MAPFILE = {pool_dir / 'condor_mapfile'}\n"
            "DAEMON_LIST = MASTER, STARTD\n"
            f"MASTER_NAME = vm-{instance}\nSTARTD_NAME = vm-{instance}\n"
            f"NUM_CPUS = {cpus}\nMEMORY = 512\n"
            f'EC2InstanceID = "{instance}"\n'
            "STARTD_ATTRS = $(STARTD_ATTRS) EC2InstanceID\nMASTER_ATTRS = $(MASTER_ATTRS) EC2InstanceID\n"
            "NO_DNS = True\nDEFAULT_DOMAIN_NAME = apfctl.test\n"
            # its own daemon family: the pool's family session would be refused by the collector
            "SEC_USE_FAMILY_SESSION = False\n")
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", POOL_USER, str(folder)], check=True, timeout=30)
        self.pidfile = folder / "run" / "master.pid"

    def start(self) -> VMStartd:
        env = {**os.environ, "CONDOR_CONFIG": str(self.config)}
        command = [str(self.release / "sbin" / "condor_master"), "-pidfile", str(self.pidfile)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", POOL_USER, "--", "env", f"CONDOR_CONFIG={self.config}", *command]
        subprocess.run(command, env=env, check=True, timeout=60)
        return self

    def pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self.pidfile.read_text().strip())
        return None

    def stop(self) -> None:
        """SIGTERM to the master: it shuts the startd down (which leaves the pool) and exits."""
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.3)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
