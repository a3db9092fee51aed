"""``apfctl monitor``: a view model of every queue built from records, and its renderers.

:mod:`apfctl.monitor.view` turns queue configuration and records into rows (pure, no I/O);
:mod:`apfctl.monitor.source` fetches records from the ledger or the status stage; the
renderers (``table``, ``plain``, ``machine``) and the live screen (``live``) only draw rows.
"""
