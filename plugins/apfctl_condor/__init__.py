"""apfctl's HTCondor plugins, through the ``htcondor2``/``classad2`` bindings only.

* ``Condor`` batch status: one schedd query (and one history query) per schedd for every
  queue of an invocation, split by ``MATCH_APF_QUEUE``.
* ``Condor`` WMS status: idle and running jobs of a pool as a queue's work (APF's overlay mode).
* ``CondorLocal``, ``CondorGrid``, ``CondorCE``/``CondorOSGCE``, ``CondorARC``/``CondorNordugrid``,
  ``CondorBatch``/``CondorSSH``/``CondorPBS``/``CondorLSF``, ``CondorEC2``: submission, retirement
  and clean-up (``flavours``; what they share in ``base``; a queue's keys and schedd in
  ``pilotqueue``; the schedd work in ``pilots`` and ``clean``; credentials in ``credentials``).

Every schedd is obtained through :func:`apfctl_condor.schedd.get_schedd`, the one seam where
tests (and third-party plugins) put the fake schedd of :mod:`apfctl_condor.testing`.
The bindings are imported inside the functions that need them, never at import time.
"""
