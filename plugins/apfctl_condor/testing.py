"""A fake schedd that keeps real ``classad2`` job ads, for tests without HTCondor daemons.

It implements the part of the ``htcondor2.Schedd`` API that apfctl's plugins use, with
the bindings' own argument names and types:

* ``query(constraint, projection, callback, limit)``: constraints evaluated by ``classad2``;
  only the projected attributes come back (all of them for an empty projection).
* ``history(constraint, projection, match, since)``: ads that left the queue, newest first;
  ``since`` stops at a cluster id, a ``"cluster.proc"`` id or the first ad matching an expression.
* ``submit(Submit, count)``: a real ``htcondor2.Submit``; one cluster of ``count`` job ads
  built from the description (``+Attr``/``MY.Attr`` lines, the common submit commands,
  ``$(Cluster)``/``$(Process)`` and other macros expanded, ``ClusterId``, ``ProcId``, ``QDate``,
  ``JobStatus``, ``EnteredCurrentStatus`` set).
* ``act(JobAction.Remove|Hold|Release, job_spec, reason)`` and ``edit(job_spec, attr, value)``.

What the real schedd records is checked against by ``tests/condor/test_fake_vs_real.py``:
``hold = True`` makes a held job (code 15), the environment is kept sorted by name,
``notification`` is a number, ``act`` reasons end in ``(by user <owner>)``, and descriptions
``condor_submit`` refuses are refused in its words.

Failures are injected per method with :meth:`FakeSchedd.fail`: ``unreachable`` and ``timeout``
raise ``htcondor2.HTCondorException`` as the bindings do; ``partial`` makes ``act`` succeed for
only half of the jobs and ``submit`` create only half of the procs.

Swap it in through the plugins' one seam::

    from apfctl_condor.schedd import use_schedd_factory
    from apfctl_condor.testing import FakePool

    pool = FakePool()
    with use_schedd_factory(pool):
        ...                      # every plugin now talks to pool.schedd(endpoint)
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from apfctl.errors import BackendError
from apfctl_condor.schedd import Endpoint

IDLE, RUNNING, REMOVED, COMPLETED, HELD, TRANSFERRING = 1, 2, 3, 4, 5, 6

# submit command -> (job attribute, kind): "str" quoted, "expr" parsed, "int"/"bool" literal.
COMMANDS: dict[str, tuple[str, str]] = {
    "executable": ("Cmd", "str"), "arguments": ("Args", "str"), "environment": ("Environment", "str"),
    "output": ("Out", "str"), "error": ("Err", "str"), "log": ("UserLog", "str"),
    "grid_resource": ("GridResource", "str"), "x509userproxy": ("x509userproxy", "str"),
    "scitokens_file": ("ScitokensFile", "str"), "notify_user": ("NotifyUser", "str"),
    "notification": ("JobNotification", "notification"), "should_transfer_files": ("ShouldTransferFiles", "str"),
    "transfer_executable": ("TransferExecutable", "default-true"), "stream_output": ("StreamOut", "expr"),
    "stream_error": ("StreamErr", "expr"), "request_memory": ("RequestMemory", "expr"),
    "request_cpus": ("RequestCpus", "expr"), "requirements": ("Requirements", "expr"),
    "periodic_hold": ("PeriodicHold", "expr"), "periodic_remove": ("PeriodicRemove", "expr"),
    "periodic_release": ("PeriodicRelease", "expr"), "arc_rte": ("ArcRte", "str"),
    "arc_resources": ("ArcResources", "str"), "ec2_ami_id": ("EC2AmiID", "str"),
    "ec2_instance_type": ("EC2InstanceType", "str"), "ec2_access_key_id": ("EC2AccessKeyId", "str"),
    "ec2_secret_access_key": ("EC2SecretAccessKey", "str"), "ec2_spot_price": ("EC2SpotPrice", "expr"),
    "ec2_security_groups": ("EC2SecurityGroups", "str"), "ec2_user_data": ("EC2UserData", "str"),
    "ec2_user_data_file": ("EC2UserDataFile", "str"),
}
NOTIFICATIONS = {"never": 0, "always": 1, "complete": 2, "error": 3}
GRID_TYPES = ("condor", "batch", "arc", "ec2", "gce", "azure")   # condor_submit's list (HTCondor 25)
UNIVERSES = {"vanilla": 5, "scheduler": 7, "grid": 9, "java": 10, "parallel": 11, "local": 12, "vm": 13,
             "docker": 5, "container": 5}
_MACRO = re.compile(r"\$\(([A-Za-z0-9_.]+)\)")
_ENV_MACRO = re.compile(r"\$ENV\(([A-Za-z0-9_]+)\)")
_JOB_ID = re.compile(r"^\d+(\.\d+)?$")


class FakeSubmitResult:
    """What ``Schedd.submit`` returns: the cluster id and the procs made."""

    def __init__(self, cluster: int, first_proc: int, num_procs: int, clusterad: Any) -> None:
        self._cluster, self._first, self._num, self._ad = cluster, first_proc, num_procs, clusterad

    def cluster(self) -> int:
        return self._cluster

    def first_proc(self) -> int:
        return self._first

    def num_procs(self) -> int:
        return self._num

    def clusterad(self) -> Any:
        return self._ad


class FakeSchedd:
    """One schedd's queue and history, as real ``classad2.ClassAd`` job ads."""

    def __init__(self, name: str = "fake-schedd", *, owner: str = "apf",
                 clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.owner = owner
        self.clock = clock
        self.jobs: dict[tuple[int, int], Any] = {}
        self.history_ads: list[Any] = []     # in the order they left the queue
        self.next_cluster = 1
        self.calls: list[str] = []           # method names, in call order
        self._failures: dict[str, tuple[str, int | None]] = {}

    # -- failures --------------------------------------------------------------------------
    def fail(self, method: str = "*", kind: str = "unreachable", times: int | None = None) -> None:
        """Make ``method`` (or every method: ``*``) fail ``times`` times (None: every time)."""
        if kind not in ("unreachable", "timeout", "partial"):
            raise ValueError(f"unknown failure kind {kind!r}")
        self._failures[method] = (kind, times)

    def _enter(self, method: str) -> str | None:
        self.calls.append(method)
        for key in (method, "*"):
            if key in self._failures:
                kind, times = self._failures[key]
                if times is not None:
                    if times <= 1:
                        del self._failures[key]
                    else:
                        self._failures[key] = (kind, times - 1)
                if kind == "partial":
                    return kind
                import htcondor2

                if kind == "timeout":
                    raise htcondor2.HTCondorException(
                        f"Failed to fetch ads from schedd {self.name}, errmsg=SECMAN:2007:Failed to end "
                        "classad message: connection timed out")
                raise htcondor2.HTCondorException(
                    f"Failed to fetch ads from schedd {self.name}, errmsg=CEDAR:6001:Failed to connect to "
                    f"<{self.name}:9618>")
        return None

    # -- the htcondor2.Schedd API -------------------------------------------------------------
    def query(self, constraint: Any = "True", projection: list[str] | None = None,
              callback: Callable[[Any], Any] | None = None, limit: int = -1, opts: Any = None) -> list[Any]:
        self._enter("query")
        ads = self._project(self._matching(self.jobs.values(), constraint), projection, limit)
        return [callback(ad) for ad in ads] if callback else list(ads)

    def history(self, constraint: Any = None, projection: list[str] | None = None, match: int = -1,
                since: Any = None) -> list[Any]:
        self._enter("history")
        return list(self._project(self._matching(self._history_since(since), constraint), projection, match))

    def submit(self, description: Any, count: int = 0, spool: bool = False, itemdata: Any = None,
               queue: str | None = None) -> FakeSubmitResult:
        import htcondor2

        partial = self._enter("submit")
        if not isinstance(description, htcondor2.Submit):
            raise TypeError("description must be an htcondor2.Submit")
        if count <= 0:
            qargs = (description.getQArgs() or "1").split()
            count = int(qargs[0]) if qargs and qargs[0].isdigit() else 1
        if partial:
            count = max(1, count // 2)
        commands = {key: value for key, value in description.items()}
        cluster = self.next_cluster
        self.next_cluster += 1
        now = int(self.clock())
        ads = [self._job_ad(commands, cluster, proc, now) for proc in range(count)]
        for proc, ad in enumerate(ads):
            self.jobs[(cluster, proc)] = ad
        return FakeSubmitResult(cluster, 0, count, ads[0])

    def act(self, action: Any, job_spec: Any, reason: tuple[str, Any] | None = None) -> Any:
        import classad2
        import htcondor2

        partial = self._enter("act")
        # Like htcondor2 25.x: only None or a (reason, code) tuple is read; anything else
        # (a plain str) is silently dropped and the job gets no reason.
        # The schedd appends who acted, as the real one records it.
        text = reason[0] if isinstance(reason, tuple) else None
        reason = "Python-initiated action" if reason is None else text
        if reason is not None:
            reason = f"{reason} (by user {self.owner})"
        totals = dict.fromkeys(("TotalSuccess", "TotalNotFound", "TotalBadStatus", "TotalError"), 0)
        ids = self._select(job_spec, totals)
        for index, key in enumerate(ids):
            ad = self.jobs[key]
            if partial and index % 2:
                totals["TotalError"] += 1
                continue
            status = ad.get("JobStatus")
            now = int(self.clock())
            if action == htcondor2.JobAction.Remove and status not in (REMOVED, COMPLETED):
                ad.update({"JobStatus": REMOVED, "EnteredCurrentStatus": now, "LastJobStatus": status,
                           **({"RemoveReason": reason} if reason is not None else {})})
                self.leave(key)
            elif action == htcondor2.JobAction.Hold and status in (IDLE, RUNNING):
                ad.update({"JobStatus": HELD, "HoldReason": reason or "", "HoldReasonCode": 1, "HoldReasonSubCode": 0,
                           "NumHolds": (ad.get("NumHolds") or 0) + 1, "EnteredCurrentStatus": now,
                           "LastJobStatus": status})
            elif action == htcondor2.JobAction.Release and status == HELD:
                ad.update({"JobStatus": IDLE, "EnteredCurrentStatus": now, "LastJobStatus": status,
                           **({"ReleaseReason": reason} if reason is not None else {})})
                for attr in ("HoldReason", "HoldReasonCode", "HoldReasonSubCode"):
                    if attr in ad:
                        del ad[attr]
            else:
                totals["TotalBadStatus"] += 1
                continue
            totals["TotalSuccess"] += 1
        answer = classad2.ClassAd()
        answer.update(totals)
        answer["TotalJobAds"] = len(ids)
        return answer

    def edit(self, job_spec: Any, attr: str, value: Any, flags: Any = None) -> int:
        import classad2

        self._enter("edit")
        expression = value if isinstance(value, classad2.ExprTree) else classad2.ExprTree(str(value))
        ids = self._select(job_spec, {"TotalNotFound": 0})
        for key in ids:
            self.jobs[key][attr] = expression
        return len(ids)

    # -- helpers for tests and benchmarks ---------------------------------------------------------
    def add_job(self, attrs: dict[str, Any], *, cluster: int | None = None, proc: int = 0) -> Any:
        """Put a job ad straight into the queue (no submit description); returns the ad."""
        import classad2

        if cluster is None:
            cluster = self.next_cluster
            self.next_cluster += 1
        now = int(self.clock())
        ad = classad2.ClassAd()
        ad.update({"ClusterId": cluster, "ProcId": proc, "QDate": now, "JobStatus": IDLE,
                   "EnteredCurrentStatus": now, "Owner": self.owner})
        ad.update(attrs)
        self.jobs[(cluster, proc)] = ad
        return ad

    def set(self, job_id: str, **attrs: Any) -> Any:
        """Change attributes of a queued job (e.g. ``JobStatus=2``)."""
        ad = self.jobs[_key(job_id)]
        ad.update(attrs)
        if "JobStatus" in attrs and "EnteredCurrentStatus" not in attrs:
            ad["EnteredCurrentStatus"] = int(self.clock())
        return ad

    def finish(self, job_id: str, exit_code: int = 0, walltime: float = 600.0) -> Any:
        """A job that completed with ``exit_code``, moved to the history."""
        now = int(self.clock())
        ad = self.set(job_id, JobStatus=COMPLETED, ExitCode=exit_code, CompletionDate=now,
                      EnteredCurrentStatus=now, RemoteWallClockTime=float(walltime))
        self.leave(_key(job_id))
        return ad

    def leave(self, key: tuple[int, int]) -> None:
        self.history_ads.append(self.jobs.pop(key))

    def ids(self, constraint: str = "True") -> list[str]:
        """``cluster.proc`` of the queued jobs matching ``constraint``, in id order."""
        return [f"{c}.{p}" for (c, p), ad in sorted(self.jobs.items()) if self._match(_tree(constraint), ad)]

    # -- internals ------------------------------------------------------------------------------
    def _history_since(self, since: Any) -> Iterator[Any]:
        stop = None if since is None else _since_test(since)
        for ad in reversed(self.history_ads):
            if stop is not None and stop(ad):
                return
            yield ad

    def _matching(self, ads: Iterable[Any], constraint: Any) -> Iterator[Any]:
        if constraint is None or (isinstance(constraint, str) and constraint.strip().lower() in ("", "true")):
            yield from ads
            return
        tree = _tree(constraint)
        for ad in ads:
            if self._match(tree, ad):
                yield ad

    @staticmethod
    def _match(tree: Any, ad: Any) -> bool:
        return tree.eval(ad) is True

    @staticmethod
    def _project(ads: Iterable[Any], projection: list[str] | None, limit: int) -> Iterator[Any]:
        import classad2

        for count, ad in enumerate(ads):
            if 0 <= limit <= count:
                return
            if not projection:
                yield ad
                continue
            copy = classad2.ClassAd()
            for attr in projection:
                if attr in ad:
                    copy[attr] = ad.lookup(attr)
            yield copy

    def _select(self, job_spec: Any, totals: dict[str, int]) -> list[tuple[int, int]]:
        if isinstance(job_spec, int):
            return [key for key in self.jobs if key[0] == job_spec]
        if isinstance(job_spec, str) and not _JOB_ID.match(job_spec.strip()):
            tree = _tree(job_spec)
            return [key for key, ad in self.jobs.items() if self._match(tree, ad)]
        if not isinstance(job_spec, (str, list, tuple)):
            tree = job_spec   # an ExprTree
            return [key for key, ad in self.jobs.items() if self._match(tree, ad)]
        wanted = [job_spec] if isinstance(job_spec, str) else list(job_spec)
        found: list[tuple[int, int]] = []
        for text in wanted:
            if "." not in text:
                found.extend(key for key in self.jobs if key[0] == int(text))
            elif _key(text) in self.jobs:
                found.append(_key(text))
            else:
                totals["TotalNotFound"] += 1
        return found

    def _job_ad(self, commands: dict[str, str], cluster: int, proc: int, now: int) -> Any:
        """The job ad the real schedd makes, for the commands apfctl writes (checked against the
        real one by tests/condor/test_fake_vs_real.py); refuses what ``condor_submit`` refuses."""
        import classad2
        import htcondor2

        macros = {key.lower(): value for key, value in commands.items()}
        macros.update({"cluster": str(cluster), "clusterid": str(cluster), "process": str(proc),
                       "procid": str(proc)})
        _refuse_like_condor_submit(macros)
        ad = classad2.ClassAd()
        ad.update({"ClusterId": cluster, "ProcId": proc, "QDate": now, "JobStatus": IDLE,
                   "EnteredCurrentStatus": now, "Owner": self.owner, "JobUniverse": 5, "Iwd": os.getcwd()})
        try:
            for command, raw in commands.items():
                value = _expand(raw, macros)
                lowered = command.lower()
                if lowered.startswith("my.") or lowered.startswith("+"):
                    ad[command.split(".", 1)[1] if lowered.startswith("my.") else command[1:]] = \
                        classad2.ExprTree(value)
                elif lowered == "universe":
                    ad["JobUniverse"] = UNIVERSES[value.lower()]
                elif lowered == "hold" and value.strip().lower() in ("true", "1"):
                    ad.update({"JobStatus": HELD, "HoldReasonCode": 15, "NumHolds": 1,
                               "HoldReason": "submitted on hold at user's request"})
                elif lowered in COMMANDS:
                    attr, kind = COMMANDS[lowered]
                    if kind == "expr":
                        ad[attr] = classad2.ExprTree(value)
                    elif kind == "notification":
                        ad[attr] = NOTIFICATIONS.get(value.lower(), 0)
                    elif kind == "default-true":   # the schedd leaves out the default
                        if value.strip().lower() not in ("true", "1"):
                            ad[attr] = classad2.ExprTree(value)
                    elif attr == "Environment":   # new syntax: outer quotes go, variables are sorted
                        ad[attr] = _sorted_environment(value[1:-1] if value.startswith('"') else value)
                    elif attr == "UserLog":
                        ad[attr] = os.path.normpath(value)
                    else:
                        ad[attr] = value
        except classad2.ClassAdException as exc:
            raise htcondor2.HTCondorException(
                f"Failed to create job ad, errmsg=Submit:-1:Parse error in expression: {command} = {value}: "
                f"{exc}") from None
        return ad


def _refuse_like_condor_submit(commands: dict[str, str]) -> None:
    """HTCondorException with condor_submit's words for what it refuses (HTCondor 25)."""
    import htcondor2

    def refuse(why: str) -> None:
        raise htcondor2.HTCondorException(f"Failed to create job ad, errmsg=Submit:-1:{why}")

    if not commands.get("executable", "").strip():
        refuse("No 'executable' parameter was provided")
    universe = commands.get("universe", "vanilla").strip().lower()
    if universe not in UNIVERSES:
        refuse(f"I don't know about the '{universe}' universe.")
    if universe == "grid":
        resource = commands.get("grid_resource", "").split()
        if not resource:
            refuse("grid_resource attribute not defined for grid universe job")
        if resource[0].lower() not in GRID_TYPES:
            refuse(f"Invalid value '{resource[0]}' for grid type")


_ENV_WORD = re.compile(r"(?:[^\s']|'[^']*')+")


def _sorted_environment(value: str) -> str:
    """The schedd keeps new-syntax environment variables sorted by name."""
    return " ".join(sorted(_ENV_WORD.findall(value), key=lambda word: word.partition("=")[0]))


class FakePool:
    """A schedd factory for the seam: one :class:`FakeSchedd` per endpoint, made on first use.

    ``unresolvable`` host names fail as a real lookup would; ``connections`` counts calls.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.schedds: dict[Endpoint, FakeSchedd] = {}
        self.unresolvable: set[str] = set()
        self.connections = 0

    def schedd(self, endpoint: Endpoint | None = None) -> FakeSchedd:
        endpoint = endpoint or Endpoint()
        found = self.schedds.get(endpoint)
        if found is None:
            found = self.schedds[endpoint] = FakeSchedd(str(endpoint), clock=self.clock)
        return found

    def __call__(self, endpoint: Endpoint) -> FakeSchedd:
        self.connections += 1
        for host in (endpoint.scheddhost, endpoint.collectorhost):
            if host in self.unresolvable:
                raise BackendError(f"schedd host {host!r} does not resolve: Name or service not known")
        return self.schedd(endpoint)


def _key(job_id: str) -> tuple[int, int]:
    cluster, _, proc = job_id.partition(".")
    return int(cluster), int(proc or 0)


def _tree(constraint: Any) -> Any:
    import classad2

    return classad2.ExprTree(constraint) if isinstance(constraint, str) else constraint


def _since_test(since: Any) -> Callable[[Any], bool]:
    if isinstance(since, int):
        return lambda ad: ad.get("ClusterId") == since
    if isinstance(since, str) and _JOB_ID.match(since.strip()):
        cluster, proc = _key(since.strip())
        return lambda ad: ad.get("ClusterId") == cluster and ad.get("ProcId") == proc
    tree = _tree(since)
    return lambda ad: tree.eval(ad) is True


def _expand(value: str, macros: dict[str, str], depth: int = 0) -> str:
    """Submit-language macro expansion: ``$(name)`` from the description, ``$ENV(NAME)``."""
    value = _ENV_MACRO.sub(lambda m: os.environ.get(m.group(1), ""), value)
    if depth > 10 or "$(" not in value:
        return value
    expanded = _MACRO.sub(lambda m: _expand(macros.get(m.group(1).lower(), ""), macros, depth + 1), value)
    return expanded
