"""The [keys] table of the config file: read by binding id, checked before the UI starts."""

from __future__ import annotations

import pytest

from duck.errors import DuckError
from duck.keys import load_keymap

IDS = ("step-next", "help", "quit")


def known():
    return IDS


def test_the_keys_table_maps_binding_ids_to_keys(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('model = "semcoder-s"\n[keys]\nstep-next = "j, right"\nquit = "ctrl+q"\n')
    assert load_keymap(known, env={"DUCK_CONFIG": str(config)}) == {"step-next": "j,right", "quit": "ctrl+q"}


def test_yaml_config_and_no_table_and_no_file(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("keys:\n  help: h\n")
    assert load_keymap(known, config) == {"help": "h"}
    (tmp_path / "plain.toml").write_text('model = "semcoder-s"\n')
    assert load_keymap(known, tmp_path / "plain.toml") == {}
    assert load_keymap(known, tmp_path / "absent.toml") == {}


def test_an_unknown_id_is_an_error_that_lists_the_ids(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nstep-nxt = "j"\n')
    with pytest.raises(DuckError) as error:
        load_keymap(known, config)
    assert "step-nxt" in error.value.message and "step-next" in error.value.hint


@pytest.mark.parametrize("table", ['[keys]\nhelp = 3\n', '[keys]\nhelp = " "\n', 'keys = "h"\n', '[keys\n'])
def test_a_bad_table_is_an_error(tmp_path, table):
    config = tmp_path / "config.toml"
    config.write_text(table)
    with pytest.raises(DuckError):
        load_keymap(known, config)


def test_the_apps_ids_are_the_ones_checked(tmp_path):
    from duck.app import DuckApp

    config = tmp_path / "config.toml"
    config.write_text('[keys]\nstep-into = "i"\nrun-to-line = "space"\napply-fix = "a"\n')
    assert load_keymap(DuckApp.binding_ids, config) == {"step-into": "i", "run-to-line": "space", "apply-fix": "a"}


def test_a_keys_table_leaves_the_model_settings_readable(tmp_path):
    from models.config import resolve_settings

    config = tmp_path / "config.toml"
    config.write_text('model = "semcoder-s"\n[keys]\nstep-next = "j"\n')
    assert resolve_settings(env={"DUCK_CONFIG": str(config)}).model == "semcoder-s"
