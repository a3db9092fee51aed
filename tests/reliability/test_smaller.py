"""The smaller items of issue 13, each with its test."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.reliability_helpers import Factory, no_traceback


def test_history_and_replay_since_further_back_than_any_date(tmp_path: Path) -> None:
    factory = Factory(tmp_path)
    assert factory.run("cycle", "--all").returncode == 0
    history = factory.run("history", "--since", "99999999d")
    no_traceback(history)
    assert history.returncode == 0 and history.stdout.count("\n") == 1
    no_traceback(factory.run("replay", "--since", "99999999d"))


def test_wrapper_install_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    factory = Factory(tmp_path)
    result = factory.run("wrapper", "install", f"{tmp_path}/nofolder/")
    assert result.returncode == 2 and "folder" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "nofolder").exists()


def test_a_misspelt_queue_conf_is_located_with_a_suggestion(tmp_path: Path) -> None:
    factory = Factory(tmp_path)
    factory.config.write_text(factory.config.read_text().replace("queueConf =", "queueConff ="))
    result = factory.run("config", "check")
    assert result.returncode == 2
    assert f"{factory.config}:4 [Factory] queueConff = 'queues.conf': no queue files: unknown key; " \
           "did you mean 'queueConf'?" in result.stderr


def test_a_missing_required_queue_key_names_the_file(tmp_path: Path) -> None:
    factory = Factory(tmp_path)
    text = (tmp_path / "queues.conf").read_text().replace("batchstatusplugin = Slurm\n", "")
    (tmp_path / "queues.conf").write_text(text)
    result = factory.run("config", "check")
    assert f"{tmp_path / 'queues.conf'} [RQ_A] batchstatusplugin: required key is missing" in result.stderr


def test_the_unknown_plugin_list_does_not_offer_refused_plugins(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"batchsubmitplugin": "NoSuchPlugin"}})
    result = factory.run("config", "check")
    offered = result.stderr.split("(installed: ")[1]
    for refused in ("GT2", "GT5", "GRAM", "CREAM"):
        assert refused not in offered, offered
    assert "Slurm" in offered


def test_a_range_error_does_not_say_the_wrong_type(tmp_path: Path) -> None:
    factory = Factory(tmp_path, {"RQ_A": {"apfqueue.sleep": "0"}})
    result = factory.run("config", "check")
    assert "apfqueue.sleep = '0': must be at least 1\n" in result.stderr
    assert "expected an integer" not in result.stderr


def test_debug_before_the_command_is_accepted(tmp_path: Path) -> None:
    factory = Factory(tmp_path)
    result = factory.run("--debug", "config", "check")
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr or "OK" in result.stdout


def test_decide_explain_with_format_json_is_refused(tmp_path: Path) -> None:
    result = Factory(tmp_path).run("decide", "--explain", "--format", "json", stdin="")
    assert result.returncode == 2 and "--explain" in result.stderr


def test_slurm_tests_skip_advice_as_root_is_not_to_run_as_root() -> None:
    from tests.slurm.slurm_helpers import HOW_TO_RUN, how_to_fix

    assert how_to_fix(0) != HOW_TO_RUN and "run them as root" not in how_to_fix(0)
    assert how_to_fix(1000) == HOW_TO_RUN
