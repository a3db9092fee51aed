"""Rules that follow the site's status in the WMS (``wms.status``: online, test, offline, ...).

A record whose WMS reports no site status (``null``) is APF's "siteinfo is None": 0 pilots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from apfctl.config.keys import Key, KeyMap
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.record.message import NUMBER, message
from apfctl_sched.common import Rule, usable


def site_status(record: Mapping[str, Any]) -> str | None:
    """The site status if both sources were read and the WMS reported one, else None."""
    return record["wms"].get("status") if usable(record) else None


class StatusTest(Rule):
    """APF's StatusTest: a site in ``test`` gets ``sched.statustest.pilots`` (default 0)."""

    KEYS: ClassVar[KeyMap] = {
        "sched.statustest.pilots": Key("int", 0, doc="pilots per cycle while the site is in test"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.pilots = self.setting("sched.statustest.pilots")
        self.said = message("StatusTest", comment="test", in_=NUMBER, out=self.pilots)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        status = site_status(record)
        if status is None:
            return 0, _STATUS_TEST_UNUSABLE(n)
        if status == "test":
            return self.pilots, self.said(n)
        return n, _STATUS_TEST_PASSED(n, n)


_STATUS_TEST_UNUSABLE = message("StatusTest", comment="no wms/batch/siteinfo", in_=NUMBER, ret=0)
_STATUS_TEST_PASSED = message("StatusTest", comment="not test", in_=NUMBER, ret=NUMBER)


class StatusOffline(Rule):
    """APF's StatusOffline: an ``offline`` site gets ``sched.statusoffline.pilots`` (default 0)."""

    KEYS: ClassVar[KeyMap] = {
        "sched.statusoffline.pilots": Key("int", 0, doc="pilots per cycle while the site is offline"),
    }

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        self.pilots = self.setting("sched.statusoffline.pilots")
        self.said = message("StatusOffline", comment="offline", in_=NUMBER, ret=self.pilots)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        status = site_status(record)
        if status is None:
            return 0, _STATUS_OFFLINE_UNUSABLE(n)
        if status == "offline":
            return self.pilots, self.said(n)
        return n, _STATUS_OFFLINE_PASSED(n, n)


_STATUS_OFFLINE_UNUSABLE = message("StatusOffline", comment="no wms/site/batchinfo", in_=NUMBER, ret=0)
_STATUS_OFFLINE_PASSED = message("StatusOffline", comment="not offline", in_=NUMBER, ret=NUMBER)
