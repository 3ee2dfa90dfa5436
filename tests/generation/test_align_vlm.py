"""The vlm aligner against a loopback server speaking the OpenAI chat-completions wire format."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from PIL import Image

from generation.align import AlignSettings, CandidateImage, load_aligner
from generation.align.threshold import reuse_threshold
from generation.briefs import Brief
from generation.openai_api import EndpointSettings
from generation.run import brief_run
from indexer.errors import ConfigError
from tests.generation.fake_openai import Reply

BRIEF = Brief(id="palace", subject="the Summer Palace in Beijing", selling_points=["imperial architecture"],
              must_avoid=["crowds"])
RATINGS = {"subject": 5, "selling_point 1": 4, "must_avoid 1": 1}


def answer(ratings: dict[str, int]) -> str:
    return json.dumps({"aspects": [{"aspect": name, "rating": rating, "reason": f"{name} looks {rating}/5"}
                                   for name, rating in ratings.items()]})


def rate_what_is_asked(body: dict) -> str:
    text = body["messages"][1]["content"][0]["text"]
    return answer({name: RATINGS.get(name, 3) for name in re.findall(r"^- (.+?) \[", text, re.M)})


@pytest.fixture(scope="module")
def palace_id(sample_ids):
    return sample_ids["chinese-temple-summer-palace.jpg"]


def aligner_for(server, searcher, **settings):
    endpoint = EndpointSettings(base_url=server.url, model="llava", api_key="k", backoff_s=0.0,
                                **{"max_retries": 2, "timeout_s": 5.0, **settings})
    return load_aligner("vlm", searcher, AlignSettings(endpoint=endpoint))


def test_request_carries_the_thumbnail_and_asks_for_the_schema(fake_openai, sample_searcher, palace_id):
    fake_openai.chat_handler = rate_what_is_asked
    aligner = aligner_for(fake_openai, sample_searcher)
    [alignment] = aligner.align(BRIEF, [CandidateImage(palace_id)])
    # (2*5 + 1*4) / 3 for the wanted aspects; crowds rated 1 = absent, no penalty
    assert alignment.score == pytest.approx(14 / 3)
    assert [(a.aspect, a.score, a.reason) for a in alignment.aspects] == [
        ("subject", 5.0, "subject looks 5/5"), ("selling_point 1", 4.0, "selling_point 1 looks 4/5"),
        ("must_avoid 1", 1.0, "must_avoid 1 looks 1/5")]
    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions" and request.headers["authorization"] == "Bearer k"
    body = request.json
    assert body["model"] == "llava"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["aspects"]
    text, image = body["messages"][1]["content"]
    assert "- must_avoid 1 [AVOID, must_avoid]: crowds" in text["text"]
    url = image["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert picture.format == "JPEG" and max(picture.size) <= 320  # the stored thumbnail, not the original
    assert reuse_threshold(aligner.model_id).value == 3.5


def test_must_avoid_ratings_are_a_penalty(fake_openai, sample_searcher, palace_id):
    fake_openai.chat_handler = lambda body: answer({"subject": 5, "selling_point 1": 4, "must_avoid 1": 5})
    [alignment] = aligner_for(fake_openai, sample_searcher).align(BRIEF, [CandidateImage(palace_id)])
    assert alignment.score == pytest.approx(14 / 3 - 3)


def test_malformed_answers_and_429_are_retried(fake_openai, sample_searcher, palace_id):
    fake_openai.chat_handler = rate_what_is_asked
    fake_openai.script(Reply.chat("Sure! The palace looks great."), Reply.status(429, headers={"Retry-After": "0"}))
    [alignment] = aligner_for(fake_openai, sample_searcher).align(BRIEF, [CandidateImage(palace_id)])
    assert alignment.error is None and alignment.score == pytest.approx(14 / 3)
    assert len(fake_openai.requests) == 3


def test_an_answer_missing_an_aspect_counts_as_malformed(fake_openai, sample_searcher, palace_id):
    fake_openai.chat_handler = lambda body: answer({"subject": 5})
    [alignment] = aligner_for(fake_openai, sample_searcher, max_retries=1).align(BRIEF, [CandidateImage(palace_id)])
    assert alignment.score is None and "selling_point 1" in alignment.error
    assert len(fake_openai.requests) == 2


def test_a_timeout_is_reported_for_that_candidate_and_the_next_is_scored(fake_openai, sample_searcher, palace_id):
    fake_openai.chat_handler = rate_what_is_asked
    late = Reply.delay(3.0, Reply.chat(answer(RATINGS)))
    fake_openai.script(late, late)
    aligner = aligner_for(fake_openai, sample_searcher, max_retries=1, timeout_s=0.5)
    first, second = aligner.align(BRIEF, [CandidateImage(palace_id), CandidateImage(palace_id)])
    assert first.score is None and "no answer within 0.5 s" in first.error and "llava" in first.error
    assert second.score == pytest.approx(14 / 3)


def test_images_outside_the_library_are_never_sent(fake_openai, sample_searcher, tmp_path):
    [alignment] = aligner_for(fake_openai, sample_searcher).align(BRIEF, [CandidateImage(None, tmp_path / "x.png")])
    assert alignment.score is None and "not indexed" in alignment.error
    assert fake_openai.requests == []


def test_no_endpoint_is_a_config_error(sample_searcher):
    with pytest.raises(ConfigError, match="SCOUT_VLM_BASE_URL"):
        load_aligner("vlm", sample_searcher)


def test_in_a_brief_run_only_the_best_retrieved_candidates_are_sent(fake_openai, sample_searcher, tmp_path):
    fake_openai.chat_handler = rate_what_is_asked
    endpoint = EndpointSettings(base_url=fake_openai.url, model="llava", backoff_s=0.0)
    run = brief_run(sample_searcher, tmp_path / "out", aligner="vlm", align_settings=AlignSettings(endpoint=endpoint))
    [result] = run.run([BRIEF.model_copy(update={"candidates": 2})]).results
    assert (result.outcome, result.reused) == ("reused", 2)
    manifest = json.loads((tmp_path / "out" / "palace" / "manifest.json").read_text())
    scored = [c for c in manifest["candidates"] if c["score"] is not None]
    assert len(fake_openai.requests) == len(scored) == 12
    assert all("scores the 12 best retrieved" in c["error"] for c in manifest["candidates"] if c["score"] is None)
    assert manifest["aligner"]["model_id"] == "vlm:llava" and manifest["decision"]["threshold"]["value"] == 3.5
