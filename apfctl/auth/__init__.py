"""Credentials the factory submits with, in one package: auth.conf profiles, their state, renewal.

The rest of apfctl uses :mod:`apfctl.auth.queues`: ``resolve`` (the files a queue's pilots
carry: a proxy, this CE's token, or both, by the queue's policy), ``credential_statuses``
(the record's ``batch.credential``, refreshing due tokens for ``apfctl cycle``),
``queue_targets`` and ``check_profiles``. Inside: :mod:`~apfctl.auth.profiles` reads
auth.conf, :mod:`~apfctl.auth.x509` and :mod:`~apfctl.auth.token` read and renew one kind
each, :mod:`~apfctl.auth.manager` checks and renews a profile, :mod:`~apfctl.auth.broker`
obtains one token per CE from an issuer (:mod:`~apfctl.auth.oidc`) for the audience that
:mod:`~apfctl.auth.audience` derives, :mod:`~apfctl.auth.files` writes secrets atomically and
privately, :mod:`~apfctl.auth.commands` runs renewal commands.
"""

from __future__ import annotations


class CredentialError(Exception):
    """A credential that cannot be read, used or renewed (the message names the profile or file)."""
