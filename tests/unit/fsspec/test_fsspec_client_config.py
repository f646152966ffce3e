"""Where a client finds its cluster: arguments, HOPSFS_URL, the config file, the built-in default;
and the clear errors a bad configuration gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from hopsfs.client_config import CONFIG_PATH_ENV, parse_config_text, resolve_client_config
from hopsfs.errors import InvalidArgument
from hopsfs.fsspec import HopsFileSystem


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOPSFS_URL", raising=False)
    monkeypatch.delenv("HADOOP_USER_NAME", raising=False)
    monkeypatch.delenv(CONFIG_PATH_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.hopsfs/client.toml of the machine's


def _config_file(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "client.toml"
    path.write_text(text)
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    return path


def test_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_client_config().url == "hopsfs://127.0.0.1:8020"
    _config_file(tmp_path, 'url = "hopsfs://from-file:1"\nuser = "carol"\n', monkeypatch)
    config = resolve_client_config()
    assert (config.url, config.user) == ("hopsfs://from-file:1", "carol")
    assert "client config" in config.url_source
    monkeypatch.setenv("HOPSFS_URL", "hopsfs://from-env:2")
    monkeypatch.setenv("HADOOP_USER_NAME", "dave")
    config = resolve_client_config()
    assert (config.url, config.user, config.url_source) == ("hopsfs://from-env:2", "dave", "HOPSFS_URL")
    config = resolve_client_config("hopsfs://given:3", "erin")
    assert (config.url, config.user) == ("hopsfs://given:3", "erin")


def test_default_file_in_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home_config = tmp_path / "home" / ".hopsfs" / "client.toml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text('url = "hopsfs://home-file:4"\n')
    assert resolve_client_config().url == "hopsfs://home-file:4"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("url = ", "not valid TOML"),
        ('url = "hopsfs://a:1"\nhots = "x"\n', "unknown keys \\['hots'\\]"),
        ("url = 8020\n", "url must be a non-empty string"),
        ('url = "http://a:1"\n', "bad hopsfs URL from the client config"),
        ('url = "hopsfs://a:99999"\n', "bad port"),
    ],
)
def test_bad_config_files_are_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, message: str
) -> None:
    path = _config_file(tmp_path, text, monkeypatch)
    with pytest.raises(InvalidArgument, match=message) as raised:
        resolve_client_config()
    if "bad port" not in message:
        assert str(path) in str(raised.value)


def test_a_named_config_file_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CONFIG_PATH_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(InvalidArgument, match="names no readable file"):
        resolve_client_config()


def test_bad_environment_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPSFS_URL", "nn:8020")
    with pytest.raises(InvalidArgument, match="from HOPSFS_URL"):
        resolve_client_config()


def test_parse_accepts_only_known_string_keys() -> None:
    assert parse_config_text('url = "hopsfs://a:1"', "inline") == {"url": "hopsfs://a:1"}
    with pytest.raises(InvalidArgument, match="user must be"):
        parse_config_text('user = ""', "inline")


def test_the_fsspec_driver_reports_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPSFS_URL", "hopsfs://nn:notaport")
    with pytest.raises(OSError, match="bad hopsfs URL from HOPSFS_URL") as raised:
        HopsFileSystem(skip_instance_cache=True)
    assert isinstance(raised.value.__cause__, InvalidArgument)


def test_the_fsspec_driver_takes_its_default_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPSFS_URL", "hopsfs://env-host:7")
    fs = HopsFileSystem(skip_instance_cache=True)
    assert fs.config.url == "hopsfs://env-host:7"
    assert fs.unstrip_protocol("/x") == "hopsfs://env-host:7/x"
    explicit = HopsFileSystem("other", 9, skip_instance_cache=True)
    assert explicit.config.url == "hopsfs://other:9"
