"""Rules that follow the site's status in the WMS (``wms.status``: online, test, offline, ...).

A record whose WMS reports no site status (``null``) is APF's "siteinfo is None": 0 pilots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from apfctl.config.keys import Key
from apfctl.config.model import QueueConfig
from apfctl.interfaces import FactoryContext
from apfctl.record.message import NUMBER, message
from apfctl_sched.common import Rule, usable


def site_status(record: Mapping[str, Any]) -> str | None:
    """The site status if both sources were read and the WMS reported one, else None."""
    return record["wms"].get("status") if usable(record) else None


class SiteStatusRule(Rule):
    """A site whose status is ``WORD`` gets ``sched.<rule>.pilots`` (default 0); other sites keep n.

    One class for APF's StatusTest and StatusOffline, which differ only in the word and in
    how APF spelled their messages (kept character by character): the comment when there is
    no site status, and the key of the result when the word matches. A subclass names them
    in its class statement.
    """

    WORD: ClassVar[str]
    NO_STATUS: ClassVar[str]     # APF's comment when the WMS, the batch or the site status is missing
    RESULT_KEY: ClassVar[str]    # APF's key for the pilots given when the status is WORD

    def __init_subclass__(cls, *, word: str, no_status: str, result_key: str, doc: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.WORD, cls.NO_STATUS, cls.RESULT_KEY = word, no_status, result_key
        cls.KEYS = {f"sched.{cls.__name__.lower()}.pilots": Key("int", 0, doc=doc)}

    def __init__(self, queue: QueueConfig, factory: FactoryContext) -> None:
        super().__init__(queue, factory)
        name = type(self).__name__
        self.pilots = self.setting(f"sched.{name.lower()}.pilots")
        self.unusable = message(name, comment=self.NO_STATUS, in_=NUMBER, ret=0)
        self.matched = message(name, comment=self.WORD, in_=NUMBER, **{self.RESULT_KEY: self.pilots})
        self.passed = message(name, comment=f"not {self.WORD}", in_=NUMBER, ret=NUMBER)

    def __call__(self, n: int, record: Mapping[str, Any]) -> tuple[int, str]:
        status = site_status(record)
        if status is None:
            return 0, self.unusable(n)
        if status == self.WORD:
            return self.pilots, self.matched(n)
        return n, self.passed(n, n)


class StatusTest(SiteStatusRule, word="test", no_status="no wms/batch/siteinfo", result_key="out",
                 doc="pilots per cycle while the site is in test"):
    """APF's StatusTest: a site in ``test`` gets ``sched.statustest.pilots`` (default 0)."""


class StatusOffline(SiteStatusRule, word="offline", no_status="no wms/site/batchinfo", result_key="ret",
                    doc="pilots per cycle while the site is offline"):
    """APF's StatusOffline: an ``offline`` site gets ``sched.statusoffline.pilots`` (default 0)."""
