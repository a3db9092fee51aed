"""``CondorEC2``: virtual machines through HTCondor's EC2 grid type (APF's cloud mode).

The description is APF's (the EC2 lines after the base block); every value that goes to
EC2 is checked first: the image, instance type and security groups are single words, the
spot price is a positive number, the user data fits EC2's 16 KB, and the key files exist
and are readable by their owner only. Retirement and clean-up work on VMs, not pilots
(:mod:`apfctl_condor.cloud`): idle VMs are drained through the ``htcondor2`` bindings, a
VM's grid job is removed once its startd has left the pool. APF's ``usessh`` (ssh to the
VM to run ``condor_off``) is refused.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any, ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.errors import BackendError, ConfigError
from apfctl.interfaces import FactoryContext, SubmitResult
from apfctl_condor import cloud
from apfctl_condor.base import CondorBase
from apfctl_condor.description import Description
from apfctl_condor.flavours import HTTP_URL, CondorGrid

EC2_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+=-]*$")   # AMI ids, instance types, group names
USER_DATA_LIMIT = 16 * 1024   # EC2 refuses larger user data (RunInstances)
USESSH_REFUSED = ("usessh (ssh to each VM to run condor_off) is not supported: apfctl drains a VM's startd "
                  "through the htcondor2 bindings (DaemonsOffPeaceful to the VM's master, found in the "
                  "collector by its instance id); remove the key or set it to False")

EC2_KEYS: dict[str, Key] = {
    "ami_id": Key("str", None, doc="image id"), "instance_type": Key("str", None),
    "security_groups": Key("str", None, doc="comma-separated security group names"),
    "spot_price": Key("float", None, doc="maximum spot price (a positive number)"),
    "user_data": Key("str", None, doc="user data for the VM (at most 16 KB)"),
    "user_data_file": Key("path", None, doc="file holding the user data (at most 16 KB)"),
    "access_key_id": Key("path", None, doc="file holding the access key id (mode 0600)"),
    "secret_access_key": Key("path", None, doc="file holding the secret key (mode 0600)"),
    "usessh": Key("bool", False, doc="APF's ssh retirement: refused (True is a config error)"),
    **cloud.VM_KEYS,
}


class CondorEC2(CondorGrid):
    """Virtual machines through HTCondor's EC2 grid type (lines after the base block, as APF)."""

    OWN_KEYS: ClassVar[dict[str, Key]] = EC2_KEYS
    PARENTS = ("condorec2", "condorbase")

    @classmethod
    def check(cls, name: str, queue: QueueConfig, factory: FactoryContext) -> list[str]:
        problems = super().check(name, queue, factory)
        if problems:
            return problems
        plugin = cls(name, queue, factory)
        try:
            plugin.check_files()
            cloud.settings(plugin.q)
        except ConfigError as exc:
            return [f"{exc.key}: {exc.message}" if exc.key else exc.message]
        return []

    def executable(self) -> str | None:
        """The VM runs its image, not a pilot: the executable is the queue name (as in APF)."""
        return None

    def word(self, suffix: str, listed: bool = False) -> str | None:
        """An EC2 value that must be one word (or a comma list of words): ConfigError otherwise."""
        value = self.q.text(suffix)
        if value is None:
            return None
        words = [item.strip() for item in value.split(",")] if listed else [value]
        for item in words:
            if not EC2_WORD.match(item):
                raise self.q.fail(self.q.key(suffix), f"{item!r} is not an EC2 name (spaces, quotes, newlines "
                                                      "or odd characters)", value)
        return ",".join(words)

    def lines(self, d: Description, cycle: str) -> None:
        if self.q.value("usessh"):
            raise self.q.fail(self.q.key("usessh"), USESSH_REFUSED)
        CondorBase.lines(self, d, cycle)
        key = self.q.key("gridresource")
        url = self.queue.getstr(key)
        if url is None:
            raise self.q.fail(key, "required key is missing (the EC2 service URL)")
        if not HTTP_URL.match(url):
            raise self.q.fail(key, "not an http(s) URL", url)
        d.add("universe", "grid")
        d.add("grid_resource", f"ec2 {url}", key)
        self.add_credential(d)
        for suffix in ("access_key_id", "secret_access_key"):
            value = self.q.value(suffix)
            if value is None:
                raise self.q.fail(self.q.key(suffix), "required key is missing (a key file)")
            d.add(f"ec2_{suffix}", str(value), self.q.key(suffix))
        ami = self.word("ami_id")
        if ami is None:
            raise self.q.fail(self.q.key("ami_id"), "required key is missing (the image id)")
        d.add("ec2_ami_id", ami, self.q.key("ami_id"))
        d.add("executable", self.queue.name)
        instance_type = self.word("instance_type")
        if instance_type is not None:
            d.add("ec2_instance_type", instance_type, self.q.key("instance_type"))
        user_data = self.q.value("user_data")
        if user_data is not None:
            if len(user_data.encode()) > USER_DATA_LIMIT:
                raise self.q.fail(self.q.key("user_data"), f"{len(user_data.encode())} bytes: more than EC2's "
                                                           f"{USER_DATA_LIMIT} bytes of user data")
            d.add("ec2_user_data", user_data, self.q.key("user_data"))
        user_data_file = self.q.value("user_data_file")
        if user_data_file is not None:
            d.add("ec2_user_data_file", str(user_data_file), self.q.key("user_data_file"))
        groups = self.word("security_groups", listed=True)
        if groups is not None:
            d.add("ec2_security_groups", groups, self.q.key("security_groups"))
        price = self.q.value("spot_price")
        if price is not None:
            if not price > 0:
                raise self.q.fail(self.q.key("spot_price"), "not a positive number (a price per hour)",
                                  self.q.text("spot_price"))
            d.add("ec2_spot_price", f"{price:f}", self.q.key("spot_price"))

    def check_files(self) -> None:
        """The key files exist and only their owner may read them; the user data file fits EC2."""
        for suffix in ("access_key_id", "secret_access_key"):
            path = self.q.value(suffix)
            if path is None:
                continue
            key = self.q.key(suffix)
            try:
                mode = Path(path).stat().st_mode
            except OSError as exc:
                raise self.q.fail(key, f"cannot read the key file: {exc.strerror or exc}", str(path)) from None
            if not stat.S_ISREG(mode):
                raise self.q.fail(key, "the key file is not a regular file", str(path))
            if mode & 0o077:
                raise self.q.fail(key, f"the key file is open to others (mode {stat.S_IMODE(mode):04o}); "
                                       "chmod 600 it", str(path))
        path = self.q.value("user_data_file")
        if path is not None:
            key = self.q.key("user_data_file")
            try:
                size = Path(path).stat().st_size
            except OSError as exc:
                raise self.q.fail(key, f"cannot read the user data file: {exc.strerror or exc}", str(path)) from None
            if size > USER_DATA_LIMIT:
                raise self.q.fail(key, f"{size} bytes: more than EC2's {USER_DATA_LIMIT} bytes of user data",
                                  str(path))

    # -- VMs, not pilots ------------------------------------------------------------------------
    def submit(self, n: int, cycle: str, dry_run: bool = False) -> SubmitResult:
        """New VMs, after checking the keys, the key files and that the EC2 endpoint answers at all."""
        if not dry_run:
            try:
                self.describe(n, cycle)
                cloud.settings(self.q)
                self.check_files()
            except ConfigError as exc:
                raise BackendError(f"queue {self.queue.name}: {exc}") from None
            url = self.queue.getstr(self.q.key("gridresource")) or ""
            cloud.probe_endpoint(self.queue.name, url)
        return super().submit(n, cycle, dry_run)

    def retire(self, n: int, dry_run: bool = False) -> SubmitResult:
        return cloud.retire(self.q, n, dry_run)

    def clean(self, dry_run: bool = False) -> list[dict[str, Any]]:
        """The hold policy of every HTCondor queue, then VMs whose startd is gone lose their grid job."""
        return [*super().clean(dry_run), *cloud.clean(self.q, dry_run)]
