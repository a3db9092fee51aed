"""What apfmon was last sent for the factory and each label, kept in the factory's ledger.

Each registration is an action of kind ``apfmon.registered`` (detail: the monitor section,
the key ``factory`` or ``label:<queue>``, and the digest of the body sent), so a new row is
added only when a label is new or changed. The latest row per key wins. A ledger that
cannot be read means "nothing registered": everything is sent, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("apfctl.apfmon")
KIND = "apfmon.registered"


def registered(state_dir: Path, section: str) -> dict[str, str]:
    """Key -> digest of what this monitor section last sent successfully."""
    from apfctl.errors import LedgerError
    from apfctl.ledger import Ledger

    try:
        with Ledger(state_dir, create=False) as ledger:
            actions = ledger.actions(kind=KIND)
    except LedgerError as exc:
        log.warning("apfmon %s: what was registered is unknown (%s); sending the factory and every label",
                    section, exc)
        return {}
    found: dict[str, str] = {}
    for action in actions:
        detail = action["detail"]
        if isinstance(detail, Mapping) and detail.get("section") == section:
            found[str(detail.get("key"))] = str(detail.get("digest"))
    return found


def remember(state_dir: Path, section: str, sent: Mapping[str, str]) -> None:
    """Keep the digests of what was just sent (a failure is a warning: they are sent again)."""
    if not sent:
        return
    from apfctl.errors import LedgerError
    from apfctl.ledger import Ledger

    try:
        with Ledger(state_dir) as ledger:
            for key, value in sent.items():
                ledger.log_action(KIND, key.removeprefix("label:") if key.startswith("label:") else None,
                                  {"section": section, "key": key, "digest": value})
    except LedgerError as exc:
        log.warning("apfmon %s: cannot keep what was registered (%s); it is sent again next cycle", section, exc)
