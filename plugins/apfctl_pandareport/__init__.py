"""apfctl's monitor plugin for PanDA's Harvester API: PanDA sees apfctl's pilots as workers.

After each cycle, the workers of the cycle and the state changes of earlier ones go to
``update_workers``, each queue's open workers per resource type to
``report_worker_statistics``, and a ``heartbeat``; what could not be sent waits in the
outbox (:mod:`apfctl.outbox`). See docs/panda.md.
"""
