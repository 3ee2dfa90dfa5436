"""Every operation in the server's own OpenAPI document, fuzzed against a real uvicorn server.

Nothing here names a route: the operations come from ``/openapi.json`` of the running server, so
an endpoint added later (briefs, tags, reviews, safety) is fuzzed and swept without new test code.
Checks per response: no 5xx, the status code is documented, the body matches the documented
schema, and every error is JSON ``{"error", "hint"}``.
"""

from __future__ import annotations

import re
import shutil
from urllib.parse import quote

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from tests.api.conftest import serve
from tests.conftest import SAMPLE_PHOTOS, index_folder

EXAMPLES_PER_OPERATION = 10  # per generation mode (valid, schema-breaking)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Ids a careless edge turns into a 500: SQLite's integer range +-1, exotic digits, float syntax.
HOSTILE_IDS = ["0", "-1", str(2**63), str(-(2**63) - 1), "²", "1e3", "١٢", "0x10", "\x00", "9" * 400]

# Operations that would start real work outside the library under test: fuzzed with a fixed,
# harmless body (an empty folder) instead of generated ones (a generated "/" would index the disk).
FIXED_BODIES = {("POST", "/api/index-jobs"): lambda empty: {"paths": [str(empty)]}}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory, offline_encoder):
    """A server of its own (index jobs write to its library), over six sample photos."""
    base = tmp_path_factory.mktemp("openapi-fuzz")
    root = base / "photos"
    root.mkdir()
    for photo in sorted(SAMPLE_PHOTOS.iterdir())[:6]:
        shutil.copy(photo, root / photo.name)
    (base / "empty").mkdir()
    library, _ = index_folder(base / "lib", [root], offline_encoder)
    library.close()
    with serve(base / "lib", offline_encoder) as server:
        yield server, base / "empty"


@pytest.fixture(scope="module")
def schema(fuzz_server):
    server, _ = fuzz_server
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


def _label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


def _error_body_problem(response) -> str | None:
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} body is not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or "hint" not in body:
        return f"{response.status_code} body is not {{error, hint}}: {str(body)[:200]}"
    return None


def _describe(failure: BaseException, response) -> str:
    return f"{getattr(failure, 'title', type(failure).__name__)} ({response.status_code})"


def _fuzz(operation, mode: GenerationMode, base_url: str, max_examples: int, **fixed) -> list[str]:
    """Run one operation's cases; every distinct problem once, with the request that showed it."""
    found: dict[str, str] = {}

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode, **fixed))
    def exercise(case):
        response = case.call(base_url=base_url, timeout=60)
        problems = []
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:  # one per response, with every failed check inside
            problems += [_describe(failure, response) for failure in group.exceptions]
        except Failure as failure:
            problems.append(_describe(failure, response))
        problem = _error_body_problem(response)
        if problem:
            problems.append(problem)
        for problem in problems:
            found.setdefault(problem, f"{case.method} {case.formatted_path} query={case.query}")

    try:
        exercise()
    except Unsatisfiable:  # nothing to break: an operation without parameters has no invalid request
        if mode is GenerationMode.POSITIVE:
            raise
    return [f"{problem} <- {request}" for problem, request in found.items()]


@pytest.fixture(scope="module")
def campaign(schema, fuzz_server) -> dict[str, list[str]]:
    """Fuzz every documented operation once for the module: failures per operation label."""
    server, empty = fuzz_server
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the server documents no operations"
    failures = {}
    for operation in operations:
        fixed = FIXED_BODIES.get((operation.method.upper(), operation.path))
        if fixed:  # only valid requests, with the harmless body
            found = _fuzz(operation, GenerationMode.POSITIVE, server.url, 3, body=fixed(empty))
        else:  # valid requests, and requests that break the documented schema on purpose
            found = [problem for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                     for problem in _fuzz(operation, mode, server.url, EXAMPLES_PER_OPERATION)]
        failures[_label(operation)] = found
    return failures


def test_every_operation_survives_fuzzing(campaign):
    assert len(campaign) >= 5, f"too few operations fuzzed: {sorted(campaign)}"
    failed = {label: found for label, found in campaign.items() if found}
    assert not failed, "\n".join(f"{label}:\n  " + "\n  ".join(found) for label, found in failed.items())


def _integer_id_operations(spec: dict) -> list[tuple[str, str, str]]:
    """(method, path template, parameter name) for every path parameter typed integer."""
    found = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            for parameter in shared + operation.get("parameters", []):
                schema_ = parameter.get("schema", {})
                types = {schema_.get("type")} | {s.get("type") for s in schema_.get("anyOf", [])}
                if parameter.get("in") == "path" and "integer" in types:
                    found.append((method.upper(), path, parameter["name"]))
    return found


def test_hostile_ids_on_every_integer_path_are_client_errors(fuzz_server):
    """A spec-driven sweep: each integer path parameter gets ids around SQLite's range and odd
    digits; the answer is a 4xx with a JSON {error, hint}, never a 500 or a traceback."""
    server, _ = fuzz_server
    with server.client() as client:
        spec = client.get("/openapi.json").json()
        targets = _integer_id_operations(spec)
        assert targets, "no integer path parameters documented: the sweep would prove nothing"
        bad = []
        for method, path, name in targets:
            for value in HOSTILE_IDS:
                url = path.replace("{" + name + "}", quote(value, safe=""))
                url = re.sub(r"\{[^}]+\}", "1", url)  # any other parameter: a valid-looking id
                response = client.request(method, url)
                problem = _error_body_problem(response)
                if not 400 <= response.status_code < 500 or problem:
                    bad.append(f"{method} {url} -> {response.status_code} {problem or response.text[:120]}")
    assert not bad, "\n".join(bad)


def test_every_undocumented_method_is_a_json_405(fuzz_server):
    """Methods the spec does not list for a path answer 405 with Allow and {error, hint}, and never
    fall through to the static files."""
    server, _ = fuzz_server
    with server.client() as client:
        spec = client.get("/openapi.json").json()
        bad = []
        for path, item in spec["paths"].items():
            documented = {method.upper() for method in item if method != "parameters"}
            url = re.sub(r"\{[^}]+\}", "1", path)
            for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - documented):
                response = client.request(method, url)
                problem = _error_body_problem(response)
                if response.status_code != 405 or problem or not response.headers.get("allow"):
                    bad.append(f"{method} {url} -> {response.status_code} {problem or response.text[:120]}")
    assert not bad, "\n".join(bad)
