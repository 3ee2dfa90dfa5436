"""The openai copy writer against a real loopback server speaking the chat-completions wire
format: the request it sends, malformed answers, rate limits, a dead or slow endpoint, and copy
that comes back too long."""

from __future__ import annotations

import json

import pytest

from generation.briefs import Brief
from generation.copy import CopyWriterOptions, ImageFacts, Label, load_copy_writer
from generation.copy.colours import Colour
from generation.copy.openai import OpenAIWriter
from generation.limits import limits_for_formats
from generation.openai_api import EndpointSettings
from indexer.errors import ServiceUnavailable
from tests.generation.fake_openai import Reply

BRIEF = Brief(id="lisbon-1", subject="Lisbon", selling_points=["Three nights from 299 EUR"], tone="warm",
              audience="couples", must_avoid=["crowds"], formats=["1080x1080", "1200x628"], language="de")
FACTS = ImageFacts(
    asset_id=7, labels=(Label("espresso", 0.99, 8.7), Label("coffee mug", 0.69, 4.5)),
    colours=(Colour("brown", 0.35, (149, 76, 42)),), text="CAFÉ", orientation="landscape", width=400,
    height=300, model="offline:test", score_median=0.5, score_spread=0.05,
)
LIMITS = limits_for_formats(BRIEF.formats)  # headline 30, body 90, cta 30


def draft(i: int, headline: str | None = None) -> dict:
    return {"headline": headline or f"Espresso in Lissabon {i}", "body": f"Brauner Espresso am Morgen, Nr. {i}.",
            "cta": "Jetzt buchen", "references": ["espresso", "brown"], "angle": f"angle {i}"}


def answer(*drafts: dict) -> str:
    return json.dumps({"variants": list(drafts)})


def writer(server, **settings) -> OpenAIWriter:
    values = {"base_url": server.url, "model": "copy-model", "api_key": "sk-test", "backoff_s": 0.0}
    return OpenAIWriter(EndpointSettings(**{**values, **settings}))


def test_it_is_the_default_when_an_endpoint_is_configured(fake_openai):
    options = CopyWriterOptions(endpoint=EndpointSettings(base_url=fake_openai.url, model="m"))
    assert isinstance(load_copy_writer(None, options), OpenAIWriter)


def test_the_request_carries_model_brief_facts_limits_and_a_json_schema(fake_openai):
    fake_openai.script(Reply.chat(answer(draft(1), draft(2), draft(3))))
    variants = writer(fake_openai).write(BRIEF, FACTS)

    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    body = request.json
    assert body["model"] == "copy-model"
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]
    assert schema["strict"] is True and schema["schema"]["properties"]["variants"]["minItems"] == 3
    system, user = body["messages"]
    assert system["role"] == "system" and "JSON" in system["content"]
    sent = json.loads(user["content"])
    assert sent["brief"]["subject"] == "Lisbon" and sent["brief"]["selling_points"] == ["Three nights from 299 EUR"]
    assert sent["brief"]["language"] == "de" and sent["brief"]["must_avoid"] == ["crowds"]
    assert [label["name"] for label in sent["image"]["visible_labels"]] == ["espresso", "coffee mug"]
    assert sent["image"]["dominant_colours"][0]["name"] == "brown" and sent["image"]["text_in_image"] == "CAFÉ"
    assert (sent["limits"]["headline_max_chars"], sent["limits"]["body_max_chars"]) == (30, 90)

    assert [v.headline for v in variants] == ["Espresso in Lissabon 1", "Espresso in Lissabon 2", "Espresso in Lissabon 3"]
    assert all(v.references == ["espresso", "brown"] and v.flags == [] for v in variants)
    assert all((v.writer, v.model, v.language) == ("openai", "copy-model", "de") for v in variants)


def test_a_malformed_answer_is_retried_then_the_good_one_used(fake_openai):
    fake_openai.script(Reply.raw("{not json"), Reply.chat("Here you go: no JSON at all"),
                       Reply.chat(answer(draft(1))),  # too few variants counts as malformed too
                       Reply.chat(answer(draft(1), draft(2), draft(3))))
    variants = writer(fake_openai).write(BRIEF, FACTS)
    assert len(fake_openai.requests) == 4 and len(variants) == 3


def test_429_with_retry_after_then_success(fake_openai):
    fake_openai.script(Reply.status(429, headers={"Retry-After": "0"}), Reply.chat(answer(draft(1), draft(2), draft(3))))
    variants = writer(fake_openai).write(BRIEF, FACTS)
    assert len(fake_openai.requests) == 2 and len(variants) == 3


def test_an_endpoint_that_stays_down_is_one_clear_error_for_the_brief(fake_openai):
    fake_openai.script(*[Reply.status(500)] * 3)
    with pytest.raises(ServiceUnavailable) as error:
        writer(fake_openai, max_retries=2).write(BRIEF, FACTS)
    assert "lisbon-1" in error.value.message and "HTTP 500" in error.value.message
    assert "copy-model" in error.value.message and len(fake_openai.requests) == 3


def test_a_slow_endpoint_times_out_into_a_clear_error(fake_openai):
    slow = Reply.delay(1.5, Reply.chat(answer(draft(1), draft(2), draft(3))))
    fake_openai.script(slow, slow)
    with pytest.raises(ServiceUnavailable, match="lisbon-1.*no answer within 0.3 s"):
        writer(fake_openai, timeout_s=0.3, max_retries=1).write(BRIEF, FACTS)


def test_an_over_long_variant_is_sent_back_once_and_the_shorter_one_kept(fake_openai):
    long_headline = "Espresso, Sonne und Gassen: Lissabon für zwei"  # 45 > 30
    fake_openai.script(Reply.chat(answer(draft(1, long_headline), draft(2), draft(3))),
                       Reply.chat(answer(draft(1, "Espresso in der Sonne"), draft(2), draft(3))))
    variants = writer(fake_openai).write(BRIEF, FACTS)
    assert variants[0].headline == "Espresso in der Sonne" and variants[0].flags == []
    second = fake_openai.requests[1].json["messages"]
    assert second[2]["role"] == "assistant" and long_headline in second[2]["content"]
    assert second[3]["role"] == "user" and "Variant 1: headline is 45 characters" in second[3]["content"]


def test_a_variant_still_too_long_after_one_retry_is_kept_and_flagged(fake_openai):
    too_long = "Espresso, Sonne und Gassen: Lissabon für zwei"
    fake_openai.script(Reply.chat(answer(draft(1, too_long), draft(2), draft(3))),
                       Reply.chat(answer(draft(1, too_long + "!"), draft(2), draft(3))))
    variants = writer(fake_openai).write(BRIEF, FACTS)
    assert len(fake_openai.requests) == 2
    assert variants[0].headline == too_long
    assert variants[0].flags == [f"headline is 45 characters, over the 30 allowed ({', '.join(LIMITS.platforms)})"]
    assert variants[1].flags == [] and variants[2].flags == []


def test_a_server_without_json_schema_support_is_asked_for_json_mode(fake_openai):
    fake_openai.script(Reply.status(400, {"error": {"message": "response_format json_schema is not supported"}}),
                       Reply.chat("```json\n" + answer(draft(1), draft(2), draft(3)) + "\n```"))
    variants = writer(fake_openai).write(BRIEF, FACTS)
    assert [r.json["response_format"]["type"] for r in fake_openai.requests] == ["json_schema", "json_object"]
    assert len(variants) == 3 and variants[0].headline == "Espresso in Lissabon 1"


def test_copy_that_mentions_a_must_avoid_term_is_flagged(fake_openai):
    crowded = dict(draft(2), body="Espresso ohne Crowds? Lissabon am Morgen.")
    fake_openai.script(Reply.chat(answer(draft(1), crowded, draft(3))))
    variants = writer(fake_openai).write(BRIEF, FACTS)
    assert variants[1].flags == ["mentions 'crowds', which the brief says to avoid"]
    assert variants[0].flags == [] and variants[2].flags == []
