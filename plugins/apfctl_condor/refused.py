"""Dead middleware, recognised by APF's names and refused with what to use instead."""

from __future__ import annotations

from apfctl.interfaces import Plugin


class CondorGT2(Plugin):
    REFUSED = "Globus GRAM (gt2) is gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"


class CondorGT5(Plugin):
    REFUSED = "Globus GRAM (gt5) is gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"


class CondorGRAM(Plugin):
    REFUSED = "Globus GRAM is gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"


class CondorCREAM(Plugin):
    REFUSED = "CREAM CEs are retired and gone from HTCondor; use CondorCE (HTCondor-CE) or CondorARC"
