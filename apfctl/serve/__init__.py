"""``apfctl serve`` and ``apfctl logserver``: one HTTP service per factory host.

:mod:`apfctl.serve.logs` decides what of ``baseLogDir`` may be served; :mod:`apfctl.serve.app`
is the Starlette application (logs, the page, ``/metrics``, the monitor view as JSON);
:mod:`apfctl.serve.server` binds the socket and runs uvicorn. The page's assets are in ``web/``.
Starlette and uvicorn are core dependencies, imported only by these commands.
"""
