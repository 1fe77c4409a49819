"""Integration fixtures: a real broker for the session, unique topic names per test.

A test that needs a binary that is missing fails in CI (CI=true) and is skipped elsewhere
with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from citypulse.broker import BrokerError, EmbeddedBroker
from tests.support.binaries import in_ci


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """The embedded Tansu broker (memory storage) for the whole test session."""
    try:
        embedded = EmbeddedBroker().start()
    except BrokerError as exc:
        if in_ci():
            pytest.fail(f"embedded broker unavailable in CI: {exc}")
        pytest.skip(f"embedded broker unavailable: {exc}")
    yield embedded
    embedded.stop()


@pytest.fixture
def topic_prefix() -> str:
    """Topic names unique to one test (the broker is shared by the session)."""
    return f"t{uuid.uuid4().hex[:8]}."
