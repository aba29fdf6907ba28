"""Runs a story's steps over HTTP against a live cloud and says which checks failed, and why."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Final

import httpx

from tests.api.declarative.errors import DeclarativeError, StoryInvalid
from tests.api.declarative.paths import evaluate, parse_path
from tests.api.declarative.story import Step, Story
from tests.api.declarative.substitution import Exchange, Scope, substitute, substitute_text

# How much of an answer a failure shows.
_SHOWN: Final = 2000


class StepFailed(AssertionError):
    """A step's answer was not what the story expects."""


def run_story(story: Story, client: httpx.Client, environ: Mapping[str, str]) -> list[Exchange]:
    """Run every step in order; the answers, or StepFailed at the first step that fails."""
    history: list[Exchange] = []
    for step in story.steps:
        scope = Scope(environ, tuple(history))
        try:
            history.append(_run_step(step, client, scope))
        except DeclarativeError as exc:
            raise StepFailed(f"{story.source}: step {step.name!r}: {exc}") from exc
        except StepFailed as exc:
            raise StepFailed(f"{story.source}: step {step.name!r}: {exc}") from None
    return history


def _run_step(step: Step, client: httpx.Client, scope: Scope) -> Exchange:
    url = _text(substitute_text(step.url, scope), "the URL")
    headers = {
        name: _text(substitute_text(v, scope), name) for name, v in step.request_headers.items()
    }
    data = substitute(step.data, scope)
    if data is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    tries = step.poll.count if step.poll else 1
    for attempt in range(1, tries + 1):
        response = client.request(
            step.method,
            url,
            headers=headers,
            content=None if data is None else json.dumps(data).encode(),
        )
        exchange = _exchange(step.name, response)
        failures = check(step, exchange, scope)
        if not failures:
            return exchange
        if attempt < tries:
            assert step.poll is not None
            time.sleep(step.poll.delay)
    tried = f" (tried {tries} times)" if tries > 1 else ""
    raise StepFailed(
        f"{step.method} {url}{tried}:\n  - "
        + "\n  - ".join(failures)
        + f"\n  answer {exchange.status}: {exchange.text[:_SHOWN]}"
    )


def _exchange(name: str, response: httpx.Response) -> Exchange:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    headers = {key.lower(): value for key, value in response.headers.items()}
    return Exchange(name, response.status_code, headers, body, response.text)


def check(step: Step, exchange: Exchange, scope: Scope) -> list[str]:
    """What is wrong with `exchange` for `step`; empty if every check passes."""
    # Expectations may name this step's own answer as $RESPONSE.
    here = Scope(scope.environ, (*scope.history, exchange))
    failures = []
    if exchange.status != step.status:
        failures.append(f"status {exchange.status}, expected {step.status}")
    for raw_path, raw_expected in step.response_json_paths.items():
        path = _text(substitute_text(raw_path, scope), "a JSON path")
        expected = substitute(raw_expected, here)
        try:
            actual = evaluate(parse_path(path), exchange.body)
        except DeclarativeError as exc:
            failures.append(str(exc))
            continue
        if not matches(actual, expected):
            failures.append(f"{path} is {json.dumps(actual)}, expected {json.dumps(expected)}")
    for raw_path in step.response_absent_paths:
        path = _text(substitute_text(raw_path, scope), "a JSON path")
        try:
            found = evaluate(parse_path(path), exchange.body)
        except DeclarativeError:
            continue
        failures.append(f"{path} is {json.dumps(found)}, expected absent")
    for name, raw_expected in step.response_headers.items():
        expected = substitute_text(raw_expected, here)
        actual_header = exchange.headers.get(name.lower())
        if actual_header is None or not matches(actual_header, expected):
            failures.append(f"header {name} is {actual_header!r}, expected {expected!r}")
    for raw_string in step.response_strings:
        wanted = _text(substitute_text(raw_string, scope), "a response string")
        if wanted not in exchange.text:
            failures.append(f"the body does not contain {wanted!r}")
    return failures


def matches(actual: object, expected: object) -> bool:
    """Equal JSON (true is not 1), where an expected string `/regex/` is searched in the actual's
    text, at any depth: an expected object needs the same keys, a list the same length."""
    if isinstance(expected, str) and len(expected) >= 2 and expected[0] == expected[-1] == "/":
        text = actual if isinstance(actual, str) else json.dumps(actual)
        try:
            return re.search(expected[1:-1], text) is not None
        except re.error as exc:
            raise StoryInvalid(f"{expected!r} is not a regular expression: {exc}") from exc
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and set(actual) == set(expected)
            and all(matches(actual[key], value) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return json.dumps(actual) == json.dumps(expected)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise StepFailed(f"{what} became {value!r}, not text")
    return value
