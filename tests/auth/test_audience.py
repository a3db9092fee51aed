"""CE audiences: HTCondor-CE host:port, ARC https://host, CRIC's gsiftp endpoints mapped to https."""

from __future__ import annotations

import pytest

from apfctl.auth.audience import AudienceError, arc_ce, htcondor_ce


@pytest.mark.parametrize("host, port, expected", [
    ("ce01.example.org", None, "ce01.example.org:9619"),
    ("CE01.Example.org", 9620, "ce01.example.org:9620"),
])
def test_htcondor_ce(host, port, expected):
    assert htcondor_ce(host, port) == expected


@pytest.mark.parametrize("endpoint, expected", [
    ("arc01.example.org", "https://arc01.example.org"),
    ("arc01.example.org:443", "https://arc01.example.org"),
    ("https://arc01.example.org/arex", "https://arc01.example.org"),
    ("https://arc01.example.org:443/arex", "https://arc01.example.org"),
    ("https://arc01.example.org:8443/arex", "https://arc01.example.org:8443"),
    ("gsiftp://arc01.example.org:2811/jobs", "https://arc01.example.org"),
    ("GSIFTP://ARC01.example.org/jobs", "https://arc01.example.org"),
])
def test_arc_ce(endpoint, expected):
    assert arc_ce(endpoint) == expected


@pytest.mark.parametrize("call, message", [
    (lambda: htcondor_ce(None), "no CE host"),
    (lambda: htcondor_ce("ce 01"), "is not a host name"),
    (lambda: htcondor_ce("ce01.example.org", 70000), "out of range"),
    (lambda: arc_ce(""), "no CE host"),
    (lambda: arc_ce("http://arc01.example.org"), "reached over https"),
    (lambda: arc_ce("https://arc01.example.org:port/"), "bad port"),
    (lambda: arc_ce("https:///path"), "no CE host"),
])
def test_underivable_audiences(call, message):
    with pytest.raises(AudienceError, match=message):
        call()
