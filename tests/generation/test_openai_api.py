"""The OpenAI-compatible client against a real loopback server speaking the wire format."""

from __future__ import annotations

import base64
import socket

import pytest
from pydantic import BaseModel

from generation.openai_api import EndpointSettings, OpenAIClient, image_content
from indexer.errors import ComponentUnavailable, ConfigError, ServiceUnavailable
from tests.generation.fake_openai import Reply, tiny_png

SCHEMA = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}


class Score(BaseModel):
    score: int


def client_for(server, sleeps: list[float] | None = None, **settings) -> OpenAIClient:
    options = {"model": "test-model", "api_key": "sk-test", "backoff_s": 1.0, **settings}
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return OpenAIClient(EndpointSettings(base_url=server.url, **options), sleep=record)


def test_chat_request_shape_and_parsed_answer(fake_openai):
    fake_openai.script(Reply.chat('{"score": 4}'))
    messages = [{"role": "user", "content": [{"type": "text", "text": "rate"}, image_content(b"\xff\xd8\xffjpeg")]}]
    with client_for(fake_openai) as client:
        result = client.chat_json(messages, schema=SCHEMA, parse=Score.model_validate, max_tokens=50)
    assert result == Score(score=4)
    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json["model"] == "test-model"
    assert request.json["messages"] == messages
    assert request.json["max_tokens"] == 50
    assert request.json["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}
    }
    part = request.json["messages"][0]["content"][1]
    assert part["image_url"]["url"] == "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xffjpeg").decode()


def test_no_key_sends_no_authorization_header(fake_openai):
    with client_for(fake_openai, api_key=None) as client:
        assert client.chat_json([{"role": "user", "content": "hi"}]) == {"ok": True}
    assert "authorization" not in fake_openai.requests[0].headers
    assert "response_format" not in fake_openai.requests[0].json


def test_json_schema_refused_with_400_falls_back_to_json_object(fake_openai):
    fake_openai.script(Reply.status(400, {"error": {"message": "response_format json_schema unsupported"}}),
                       Reply.chat('{"score": 2}'))
    sleeps: list[float] = []
    with client_for(fake_openai, sleeps, max_retries=0) as client:
        assert client.chat_json([], schema=SCHEMA, parse=Score.model_validate).score == 2
    first, second = fake_openai.requests
    assert first.json["response_format"]["type"] == "json_schema"
    assert second.json["response_format"] == {"type": "json_object"}
    assert sleeps == []  # a different request, not a retry


def test_400_after_the_fallback_is_a_clear_refusal(fake_openai):
    fake_openai.script(Reply.status(400), Reply.status(400, {"error": {"message": "model does not take images"}}))
    with client_for(fake_openai) as client, pytest.raises(ServiceUnavailable) as caught:
        client.chat_json([], schema=SCHEMA)
    assert "HTTP 400" in caught.value.message and "model does not take images" in caught.value.message
    assert len(fake_openai.requests) == 2


@pytest.mark.parametrize("content", [
    '```json\n{"score": 5}\n```',
    '```\n{"score": 5}\n```',
    'Sure! Here is the rating:\n{"score": 5}\nHope this helps.',
])
def test_fenced_or_wrapped_json_is_accepted(fake_openai, content):
    fake_openai.script(Reply.chat(content))
    with client_for(fake_openai) as client:
        assert client.chat_json([], parse=Score.model_validate) == Score(score=5)


def test_malformed_then_invalid_then_good_answer_is_retried_with_backoff(fake_openai):
    fake_openai.script(Reply.chat("I think it is a 4"), Reply.chat('{"score": "high"}'), Reply.chat('{"score": 3}'))
    sleeps: list[float] = []
    with client_for(fake_openai, sleeps) as client:
        assert client.chat_json([], parse=Score.model_validate).score == 3
    assert len(fake_openai.requests) == 3
    assert sleeps == [1.0, 2.0]


def test_garbage_body_counts_as_malformed(fake_openai):
    fake_openai.script(Reply.raw("<html>bad gateway</html>", "text/html"), Reply.raw('{"choices": []}'))
    with client_for(fake_openai, max_retries=1) as client, pytest.raises(ServiceUnavailable) as caught:
        client.chat_json([])
    assert "malformed answer" in caught.value.message and "choices" in caught.value.message


def test_429_honours_retry_after_then_succeeds(fake_openai):
    fake_openai.script(Reply.status(429, headers={"Retry-After": "7"}), Reply.chat('{"score": 1}'))
    sleeps: list[float] = []
    with client_for(fake_openai, sleeps) as client:
        assert client.chat_json([], parse=Score.model_validate).score == 1
    assert sleeps == [7.0]


def test_retry_after_is_capped(fake_openai):
    fake_openai.script(Reply.status(429, headers={"Retry-After": "86400"}), Reply.chat("{}"))
    sleeps: list[float] = []
    with client_for(fake_openai, sleeps) as client:
        client.chat_json([])
    assert sleeps == [60.0]


def test_500s_exhaust_the_retries_with_a_clear_error(fake_openai):
    fake_openai.script(*[Reply.status(500, {"error": {"message": "CUDA out of memory"}})] * 4)
    sleeps: list[float] = []
    with client_for(fake_openai, sleeps, max_retries=3) as client, pytest.raises(ServiceUnavailable) as caught:
        client.chat_json([])
    error = caught.value
    assert isinstance(error, ComponentUnavailable)
    assert fake_openai.url in error.message and "test-model" in error.message
    assert "4 attempts" in error.message and "HTTP 500" in error.message and "CUDA out of memory" in error.message
    assert error.hint
    assert len(fake_openai.requests) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_401_is_not_retried_and_points_at_the_key(fake_openai):
    fake_openai.script(Reply.status(401, {"error": {"message": "Incorrect API key provided"}}))
    with client_for(fake_openai) as client, pytest.raises(ServiceUnavailable) as caught:
        client.chat_json([])
    assert len(fake_openai.requests) == 1
    assert "HTTP 401" in caught.value.message and "API key" in caught.value.hint


def test_timeout_is_retried_then_succeeds(fake_openai):
    fake_openai.script(Reply.delay(1.0, Reply.chat('{"score": 9}')), Reply.chat('{"score": 2}'))
    with client_for(fake_openai, timeout_s=0.2) as client:
        assert client.chat_json([], parse=Score.model_validate).score == 2
    assert len(fake_openai.requests) == 2


def test_timeouts_end_in_service_unavailable(fake_openai):
    fake_openai.script(*[Reply.delay(1.0, Reply.chat("{}"))] * 2)
    with client_for(fake_openai, timeout_s=0.2, max_retries=1) as client, pytest.raises(ServiceUnavailable) as caught:
        client.chat_json([])
    assert "no answer within 0.2 s" in caught.value.message and "2 attempts" in caught.value.message


def test_connection_refused_ends_in_service_unavailable():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = EndpointSettings(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1)
    with OpenAIClient(settings, sleep=lambda s: None) as client, pytest.raises(ServiceUnavailable) as caught:
        client.chat_json([])
    assert "connection failed" in caught.value.message


def test_images_are_decoded_from_b64(fake_openai):
    with client_for(fake_openai) as client:
        images = client.generate_images("a beach at dawn", n=2, size="512x512", extra={"quality": "high"})
    assert images == [tiny_png(0), tiny_png(1)]
    (request,) = fake_openai.requests
    assert request.path == "/v1/images/generations"
    assert request.json == {"model": "test-model", "prompt": "a beach at dawn", "n": 2, "size": "512x512",
                            "response_format": "b64_json", "quality": "high"}


def test_an_image_url_answer_is_refused_not_fetched(fake_openai):
    fake_openai.script(Reply.json({"created": 1, "data": [{"url": f"{fake_openai.url}/files/secret.png"}]}))
    with client_for(fake_openai) as client, pytest.raises(ServiceUnavailable) as caught:
        client.generate_images("x")
    assert "URL" in caught.value.message
    assert [r.path for r in fake_openai.requests] == ["/v1/images/generations"]  # nothing followed


def test_images_that_are_not_images_are_retried(fake_openai):
    not_an_image = base64.b64encode(b"hello").decode()
    fake_openai.script(Reply.json({"created": 1, "data": [{"b64_json": not_an_image}]}), Reply.images(tiny_png(3)))
    with client_for(fake_openai) as client:
        assert client.generate_images("x") == [tiny_png(3)]


def test_server_rejecting_response_format_is_asked_without_it(fake_openai):
    fake_openai.script(Reply.status(400, {"error": {"message": "Unknown parameter: 'response_format'."}}))
    with client_for(fake_openai) as client:
        assert client.generate_images("x") == [tiny_png(0)]
    assert "response_format" not in fake_openai.requests[1].json


@pytest.mark.parametrize("url", ["ftp://host/v1", "file:///etc/passwd", "127.0.0.1:11434/v1", "", "http://"])
def test_base_url_must_be_http(url):
    with pytest.raises(ConfigError) as caught:
        EndpointSettings(base_url=url, model="m")
    assert "http(s)" in caught.value.message


def test_settings_from_env():
    env = {"SCOUT_VLM_BASE_URL": "http://127.0.0.1:11434/v1/", "SCOUT_VLM_MODEL": "llava",
           "OPENAI_API_KEY": "sk-fallback", "SCOUT_VLM_TIMEOUT": "12.5"}
    settings = EndpointSettings.from_env("SCOUT_VLM", env)
    assert settings == EndpointSettings("http://127.0.0.1:11434/v1", "llava", "sk-fallback", 12.5)
    assert EndpointSettings.from_env("SCOUT_VLM", {**env, "SCOUT_VLM_API_KEY": "sk-own"}).api_key == "sk-own"
    assert EndpointSettings.from_env("SCOUT_COPY", env) is None
    with pytest.raises(ConfigError, match="SCOUT_VLM_MODEL"):
        EndpointSettings.from_env("SCOUT_VLM", {"SCOUT_VLM_BASE_URL": "http://x/v1"})
    with pytest.raises(ConfigError, match="SCOUT_VLM_TIMEOUT"):
        EndpointSettings.from_env("SCOUT_VLM", {**env, "SCOUT_VLM_TIMEOUT": "soon"})
