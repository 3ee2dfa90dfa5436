"""Fixtures for the creative pipeline's tests: a loopback OpenAI-compatible server."""

from __future__ import annotations

import pytest

from tests.generation.fake_openai import FakeOpenAI


@pytest.fixture
def fake_openai():
    """A real HTTP server on 127.0.0.1 speaking the OpenAI wire format; script it with Reply."""
    with FakeOpenAI() as server:
        yield server
