"""PanDA and CRIC for apfctl: work-queue status from PanDA's JSON API, queues from CRIC.

* :mod:`apfctl_panda.wmsstatus` — the ``Panda`` wmsstatus plugin (one fetch per endpoint).
* :mod:`apfctl_panda.cric` — the ``CRIC`` queues-config plugin.
* :mod:`apfctl_panda.testkit` — documents in PanDA's and CRIC's real formats, and handlers
  for a pytest-httpserver fake, for these tests and for third-party plugin authors.

``requests`` is imported only by :mod:`apfctl_panda.http`, inside the functions that fetch.
"""
