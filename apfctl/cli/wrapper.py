"""``apfctl wrapper``: print or install the generic pilot wrapper."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def wrapper() -> None:
    """The generic pilot wrapper (POSIX sh) that pilots run on the worker node.

    A queue uses it when its `executable` is `apfctl-wrapper` (or unset); the submit
    backends submit the packaged file and pass `executable.arguments` after it.

    \b
    Example:
      apfctl wrapper show --path                  # where the packaged wrapper is
      apfctl wrapper show | less                  # read it (options, checks, exit codes)
      apfctl wrapper install /usr/libexec/apfctl-wrapper.sh

    \b
    queues.conf:
      executable = apfctl-wrapper
      executable.arguments = --wrappervo ATLAS --cvmfs atlas.cern.ch -- ./runpilot.sh -q %(wmsqueue)s
    """


@wrapper.command()
@click.option("--path", "show_path", is_flag=True, help="Print the wrapper's file path instead of its text.")
def show(show_path: bool) -> None:
    """Print the wrapper script (or its path) to stdout.

    \b
    Example:
      apfctl wrapper show > apfctl-wrapper.sh && sh apfctl-wrapper.sh -- /bin/true
    """
    from apfctl import wrapper as pilot_wrapper

    click.echo(str(pilot_wrapper.path()) if show_path else pilot_wrapper.text(), nl=show_path)


@wrapper.command()
@click.argument("destination", metavar="PATH", type=click.Path(dir_okay=True, file_okay=True))
def install(destination: str) -> None:
    """Copy the wrapper to PATH (a file, or a folder to put apfctl-wrapper.sh in), mode 0755.

    \b
    Example:
      apfctl wrapper install /usr/libexec/        # -> /usr/libexec/apfctl-wrapper.sh
    """
    from apfctl import wrapper as pilot_wrapper

    click.echo(str(pilot_wrapper.install(destination)))
