"""A weight store's own error: its message and hint reach the user as the store wrote
them, without the network hint that belongs to HTTP sources."""

from __future__ import annotations

import pytest

from zoo.errors import ZooError, ZooFetchError
from zoo.records import Source
from zoo.weights import fetch

SHA = "ab" * 32


def refusing_store(uri, destination, progress=None):
    raise ZooError("the artifact server refused the token", hint="run `acme login`, then retry")


def crashing_store(uri, destination, progress=None):
    raise RuntimeError("socket closed")


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    monkeypatch.delenv("ZOO_MIRRORS", raising=False)


def test_a_stores_own_error_is_passed_on_without_the_network_hint():
    with pytest.raises(ZooFetchError) as err:
        fetch([Source("acme://models/x")], sha256=SHA, stores={"acme": refusing_store}, progress=False)
    assert "the artifact server refused the token" in err.value.message
    assert err.value.hint.startswith("run `acme login`, then retry") and "network" not in err.value.hint
    assert err.value.failures == (
        ("acme://models/x", "weight store for 'acme': the artifact server refused the token"),
    )


def test_a_crashing_store_or_an_http_source_keeps_the_network_hint():
    with pytest.raises(ZooFetchError) as err:
        fetch([Source("acme://models/x")], sha256=SHA, stores={"acme": crashing_store}, progress=False)
    assert "RuntimeError: socket closed" in err.value.message and "check the network" in err.value.hint
    with pytest.raises(ZooFetchError) as err:
        fetch(
            [Source("acme://models/x"), Source("http://127.0.0.1:9/x")],
            sha256=SHA,
            stores={"acme": refusing_store},
            progress=False,
            retries=0,
            timeout=2,
        )
    assert "acme login" in err.value.hint and "check the network" in err.value.hint
