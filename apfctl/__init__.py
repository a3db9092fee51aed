"""apfctl: a pilot factory as a toolkit of composable commands."""

__version__ = "0.1.0"
