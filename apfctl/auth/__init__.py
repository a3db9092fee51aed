"""Credentials the factory submits with: auth.conf profiles, their lifetimes and renewal.

:mod:`apfctl.auth.profiles` reads auth.conf, :mod:`apfctl.auth.x509` and
:mod:`apfctl.auth.token` read and renew one kind each, :mod:`apfctl.auth.manager` checks
and renews profiles for the ``apfctl auth`` command and the status stage.
"""

from __future__ import annotations


class CredentialError(Exception):
    """A credential that cannot be read, used or renewed (the message names the profile or file)."""
