"""Settings resolve as flags > environment > ftclient.toml / [tool.ftclient] > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftclient.config import DEFAULT_MODEL, resolve
from ftclient.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    settings = resolve(environ={"FTCLIENT_HOME": str(tmp_path / "h")}, cwd=tmp_path)
    assert settings.model == DEFAULT_MODEL
    assert settings.registry_path == tmp_path / "h" / "registry.db"


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "ftclient.toml").write_text('model = "from-file"\nseed = 7\nprovider = "together"\n')
    env = {"FTCLIENT_HOME": str(tmp_path), "FTCLIENT_SEED": "9"}
    settings = resolve({"provider": "openai", "model": None}, environ=env, cwd=tmp_path)
    assert settings.provider == "openai"  # flag beats file
    assert settings.seed == 9  # environment beats file
    assert settings.model == "from-file"  # file beats default; a None flag is "not given"


def test_pyproject_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.ftclient]\nmodel = "m1"\n')
    assert resolve(environ={"FTCLIENT_HOME": str(tmp_path)}, cwd=tmp_path).model == "m1"


def test_unknown_and_invalid_settings_are_named(tmp_path: Path) -> None:
    (tmp_path / "ftclient.toml").write_text('modle = "typo"\n')
    with pytest.raises(ConfigError, match=r"unknown setting.*modle"):
        resolve(environ={}, cwd=tmp_path)
    (tmp_path / "ftclient.toml").write_text('seed = "abc"\n')
    with pytest.raises(ConfigError, match="seed = 'abc' is not a valid int"):
        resolve(environ={}, cwd=tmp_path)
    (tmp_path / "ftclient.toml").write_text('seed = \n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve(environ={}, cwd=tmp_path)
