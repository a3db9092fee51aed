"""A queue without ``executable`` (or with ``executable = apfctl-wrapper``) runs the pilot wrapper."""

from __future__ import annotations

from pathlib import Path

import pytest
from apfctl_local.submit import LocalSubmit

from apfctl import wrapper
from apfctl.config.model import Origin, QueueConfig, RawValue
from apfctl.interfaces import FactoryContext


def queue(**values: str) -> QueueConfig:
    return QueueConfig("Q", {k: RawValue(v, Origin("test")) for k, v in values.items()})


@pytest.mark.parametrize("values", [{}, {"executable": "apfctl-wrapper"}])
def test_local_pilots_run_the_wrapper_by_default(values: dict[str, str], tmp_path: Path) -> None:
    from apfctl.config.model import FactoryConfig

    context = FactoryContext(config=FactoryConfig("Factory", {}), state_dir=tmp_path)
    assert LocalSubmit.check("Local", queue(**values), context) == []
    result = LocalSubmit("Local", queue(**values, **{"executable.arguments": "-- /bin/true"}), context).submit(
        1, "20261125T000000Z-0000", dry_run=True)
    assert str(wrapper.path()) in (result.description or "")
