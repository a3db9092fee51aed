"""APF's configuration semantics and the errors that name file, line, section, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from apfctl.config.loader import load
from apfctl.config.validate import check
from apfctl.errors import ApfctlError, ConfigError
from tests.core.core_helpers import write

BASE = """[DEFAULT]
enabled = True
batchstatusplugin = Local
batchsubmitplugin = Local
schedplugin = Ready, MaxPerCycle
wmsstatusplugin = None
executable = /bin/true
"""


def make(tmp: Path, *files: tuple[str, str], factory_extra: str = "") -> Path:
    for name, text in files:
        write(tmp / name, text)
    names = ", ".join(name for name, _ in files if not name.startswith("queues.d/"))
    return write(tmp / "apfctl.conf", f"""
        [Factory]
        factoryId = f1
        queueConf = {names}
        {factory_extra}
        """)


def test_each_files_default_applies_to_its_own_sections_only(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + "\n[QA]\n"),
                  ("b.conf", "[DEFAULT]\nsched.maxpercycle.maximum = 9\n[QB]\nenabled = False\n"))
    loaded = load(str(config), tmp_path / "state")
    assert loaded.queues["QA"].get("sched.maxpercycle.maximum") is None
    assert loaded.queues["QB"].get("sched.maxpercycle.maximum") == "9"
    assert loaded.queues["QB"].get("batchsubmitplugin") is None  # a.conf's DEFAULT does not reach b.conf
    assert loaded.enabled_queues() == ["QA"]


def test_later_file_overrides_key_by_key(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + "\n[Q]\nwmsqueue = A\nvo = atlas\n"),
                  ("b.conf", "[Q]\nwmsqueue = B\n"))
    queue = load(str(config), tmp_path / "s").queues["Q"]
    assert queue.get("wmsqueue") == "B"
    assert queue.get("vo") == "atlas"
    assert str(queue.origin("wmsqueue")).endswith("b.conf:2")
    assert str(queue.origin("vo")).endswith("a.conf:11")


def test_queue_dir_files_come_after_queueconf_in_name_order(tmp_path: Path) -> None:
    write(tmp_path / "queues.d" / "20-late.conf", "[Q]\nwmsqueue = late\n")
    write(tmp_path / "queues.d" / "10-early.conf", "[Q]\nwmsqueue = early\nvo = dir\n")
    write(tmp_path / "queues.d" / "ignored.txt", "[Q]\nwmsqueue = never\n")
    config = make(tmp_path, ("a.conf", BASE + "\n[Q]\nwmsqueue = file\n"),
                  factory_extra=f"queueDirConf = {tmp_path / 'queues.d'}")
    queue = load(str(config), tmp_path / "s").queues["Q"]
    assert (queue.get("wmsqueue"), queue.get("vo")) == ("late", "dir")


def test_interpolation_from_the_merged_section(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + (
        "executable.defaultarguments = --wrapperwmsqueue=%(wmsqueue)s --vo=%(vo)s\nvo = ATLAS\n[Q]\n"
        "wmsqueue = BNL\nexecutable.arguments = %(executable.defaultarguments)s -x 100%%\n")))
    queue = load(str(config), tmp_path / "s").queues["Q"]
    assert queue.get("executable.arguments") == "--wrapperwmsqueue=BNL --vo=ATLAS -x 100%"


def test_apf_none_true_false_strings(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + "\n[Q]\nsched.maxpercycle.maximum = None\na = true\nb = False\n"))
    queue = load(str(config), tmp_path / "s").queues["Q"]
    assert queue.getint("sched.maxpercycle.maximum", 4) == 4
    assert queue.getbool("a") is True and queue.getbool("b") is False
    assert queue.getstr("wmsstatusplugin") is None


def test_missing_enabled_means_disabled(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", "[Q]\nbatchstatusplugin = Local\n"))
    assert load(str(config), tmp_path / "s").enabled_queues() == []


def test_factory_enablequeues_false_disables_all(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + "\n[Q]\n"), factory_extra="enablequeues = False")
    assert load(str(config), tmp_path / "s").enabled_queues() == []


def _errors(tmp_path: Path, section: str) -> list[ConfigError]:
    config = make(tmp_path, ("a.conf", BASE + section))
    loaded = load(str(config), tmp_path / "s")
    return check(loaded).errors


def test_non_integer_names_file_line_section_key_value(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, "\n[Q]\nsched.maxpercycle.maximum = ten\n")
    text = str(error)
    assert "a.conf:10" in text and "[Q]" in text and "sched.maxpercycle.maximum = 'ten'" in text
    assert "not an integer" in text


def test_unknown_plugin_names_the_key_and_a_close_match(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, "\n[Q]\nschedplugin = Ready, MaxPerCylce\n")
    assert "schedplugin = 'MaxPerCylce'" in str(error)
    assert "did you mean MaxPerCycle" in str(error)


def test_broken_interpolation_is_an_error(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "\n[Q]\nexecutable.arguments = --queue %(batchqueue)s\n")
    assert any("batchqueue" in str(e) and "executable.arguments" in str(e) for e in errors)


def test_interpolation_loop_is_an_error(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "\n[Q]\nvo = %(grid)s\ngrid = %(vo)s\n")
    assert any("loop" in str(e) for e in errors)


def test_missing_required_key(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", "[Q]\nenabled = True\nbatchstatusplugin = Local\nschedplugin = Ready\n"))
    errors = check(load(str(config), tmp_path / "s")).errors
    assert any("batchsubmitplugin" in str(e) and "missing" in str(e) for e in errors)


def test_unknown_key_is_a_warning_with_closest_known_key(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + "\n[Q]\nsched.maxpercycle.maximun = 3\nsched.activated.x = 1\n"))
    report = check(load(str(config), tmp_path / "s"))
    assert not report.errors
    (warning,) = report.warnings  # the legacy APF key is accepted silently
    assert "sched.maxpercycle.maximun" in warning and "did you mean 'sched.maxpercycle.maximum'" in warning


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + "\n[Q]\nthis line is not an option\n"))
    with pytest.raises(ConfigError, match=r"a\.conf:10.*cannot parse"):
        load(str(config), tmp_path / "s")


def test_missing_queue_file_and_missing_config(tmp_path: Path) -> None:
    config = write(tmp_path / "apfctl.conf", "[Factory]\nqueueConf = nowhere.conf\n")
    with pytest.raises(ConfigError, match=r"nowhere\.conf: file not found"):
        load(str(config), tmp_path / "s")
    with pytest.raises(ConfigError, match="file not found"):
        load(str(tmp_path / "absent.conf"), tmp_path / "s")


def test_unknown_queue_is_an_error(tmp_path: Path) -> None:
    config = make(tmp_path, ("a.conf", BASE + "\n[Q]\n"))
    with pytest.raises(ApfctlError, match="'NOPE' is not in the configuration"):
        load(str(config), tmp_path / "s").queue("NOPE")


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = make(tmp_path / "user", ("a.conf", BASE + "\n[FROM_USER]\n"))
    env = make(tmp_path / "env", ("a.conf", BASE + "\n[FROM_ENV]\n"))
    explicit = make(tmp_path / "explicit", ("a.conf", BASE + "\n[FROM_ARG]\n"))
    assert load(None, tmp_path / "s").is_demo  # nothing anywhere: the embedded demo
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write(tmp_path / "xdg" / "apfctl" / "apfctl.conf", user.read_text().replace("a.conf", str(user.parent / "a.conf")))
    assert list(load(None, tmp_path / "s").queues) == ["FROM_USER"]
    monkeypatch.setenv("APFCTL_CONFIG", str(env))
    assert list(load(None, tmp_path / "s").queues) == ["FROM_ENV"]
    assert list(load(str(explicit), tmp_path / "s").queues) == ["FROM_ARG"]


def test_relative_paths_are_taken_from_the_file_that_set_them(tmp_path: Path) -> None:
    config = make(tmp_path, ("sub/a.conf", BASE + "\n[Q]\nexecutable = bin/pilot.sh\n"))
    from apfctl.config.keys import Key

    queue = load(str(config), tmp_path / "s").queues["Q"]
    assert queue.typed("executable", Key("command")) == str(tmp_path / "sub" / "bin" / "pilot.sh")


def test_monitor_sections_are_checked(tmp_path: Path) -> None:
    write(tmp_path / "monitor.conf", "[dummy-monitor]\nmonitorplugin = Dummy\n\n[apfmon]\nmonitorplugin = APF\n"
                                     "apfmon.timeout = soon\n\n[typo]\nmonitorplugin = APFMun\n")
    config = make(tmp_path, ("a.conf", BASE + "\n[OK]\nmonitorsection = dummy-monitor\n\n[BAD]\n"
                                              "monitorsection = apfmon, typo, nowhere\n"),
                  factory_extra=f"monitorConf = {tmp_path / 'monitor.conf'}")
    report = check(load(str(config), tmp_path / "s"))
    text = "\n".join(map(str, report.errors))
    assert "monitor section 'nowhere': not in monitorConf" in text
    assert "[apfmon] monitorURL: required key is missing" in text
    assert "[apfmon] apfmon.timeout = 'soon': not a number" in text
    assert "[typo] monitorplugin = 'APFMun': unknown monitor plugin 'APFMun'; did you mean APFMon?" in text
    assert report.bad_queues == {"BAD"}
