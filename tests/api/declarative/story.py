"""The YAML format of a declarative API story, read into typed steps (docs/declarative-tests.md).

A file holds `defaults` (optional) and `tests`, a list of steps run in
order. Keys are gabbi's where gabbi has one; unknown keys are an error, so
a typo cannot silently drop a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from tests.api.declarative.errors import StoryInvalid

VERBS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
# A poll is bounded: at most this many tries, at most this long between two.
MAX_POLL_COUNT: Final = 600
MAX_POLL_DELAY: Final = 5.0
_STEP_KEYS: Final = frozenset(
    {
        "name",
        "desc",
        "method",
        "url",
        "request_headers",
        "data",
        "status",
        "response_json_paths",
        "response_absent_paths",
        "response_headers",
        "response_strings",
        "poll",
    }
    | VERBS
)
# What `defaults` may set for every step; a step's own value wins (headers: per name).
_DEFAULT_KEYS: Final = frozenset({"request_headers", "status", "poll"})


@dataclass(frozen=True, slots=True)
class Poll:
    """Repeat the request until its checks pass: `count` tries, `delay` seconds apart."""

    count: int
    delay: float


@dataclass(frozen=True, slots=True)
class Step:
    """One request and what its answer must be; strings may hold references (see substitution)."""

    name: str
    method: str
    url: str
    request_headers: Mapping[str, str]
    data: object  # None: no body
    status: int
    response_json_paths: Mapping[str, object]
    response_absent_paths: tuple[str, ...]
    response_headers: Mapping[str, str]
    response_strings: tuple[str, ...]
    poll: Poll | None


@dataclass(frozen=True, slots=True)
class Story:
    """A file's steps, in order."""

    source: str
    steps: tuple[Step, ...]


def load_story(path: Path) -> Story:
    """Read and check a story file, or raise StoryInvalid naming the file and step."""
    return parse_story(path.read_text(encoding="utf-8"), source=path.name)


def parse_story(text: str, *, source: str) -> Story:
    """Parse a story's YAML text, or raise StoryInvalid naming `source` and the step."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StoryInvalid(f"{source}: not YAML: {exc}") from exc
    top = _mapping(document, f"{source}: the document")
    unknown = set(top) - {"defaults", "tests"}
    if unknown:
        raise StoryInvalid(f"{source}: unknown top-level keys {sorted(map(str, unknown))}")
    defaults = _mapping(top.get("defaults", {}), f"{source}: defaults")
    if set(defaults) - _DEFAULT_KEYS:
        raise StoryInvalid(
            f"{source}: defaults may set only {sorted(_DEFAULT_KEYS)}, "
            f"not {sorted(map(str, set(defaults) - _DEFAULT_KEYS))}"
        )
    raw_steps = top.get("tests")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise StoryInvalid(f"{source}: `tests` is a non-empty list of steps")
    steps: list[Step] = []
    for number, raw in enumerate(raw_steps, start=1):
        step = _step(
            _mapping(raw, f"{source}: step {number}"), defaults, f"{source}: step {number}"
        )
        if any(s.name == step.name for s in steps):
            raise StoryInvalid(f"{source}: step {number}: the name {step.name!r} is taken")
        steps.append(step)
    return Story(source, tuple(steps))


def _step(raw: Mapping[str, Any], defaults: Mapping[str, Any], where: str) -> Step:
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise StoryInvalid(f"{where}: unknown keys {sorted(map(str, unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise StoryInvalid(f"{where}: every step has a `name`, a non-empty string")
    where = f"{where} ({name!r})"
    method, url = _request_line(raw, where)
    headers = {
        **_strings(defaults.get("request_headers", {}), f"{where}: defaults' request_headers"),
        **_strings(raw.get("request_headers", {}), f"{where}: request_headers"),
    }
    status = raw.get("status", defaults.get("status", 200))
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise StoryInvalid(f"{where}: status {status!r} is not an HTTP status")
    paths = _mapping(raw.get("response_json_paths", {}), f"{where}: response_json_paths")
    poll = raw.get("poll", defaults.get("poll"))
    return Step(
        name=name,
        method=method,
        url=url,
        request_headers=headers,
        data=raw.get("data"),
        status=status,
        response_json_paths={_key(k, where): v for k, v in paths.items()},
        response_absent_paths=_string_list(raw, "response_absent_paths", where),
        response_headers=_strings(raw.get("response_headers", {}), f"{where}: response_headers"),
        response_strings=_string_list(raw, "response_strings", where),
        poll=None if poll is None else _poll(poll, where),
    )


def _request_line(raw: Mapping[str, Any], where: str) -> tuple[str, str]:
    # gabbi's two spellings: `method` and `url`, or the verb as the key of the URL.
    verbs = sorted(VERBS & set(raw))
    if verbs and ("method" in raw or "url" in raw or len(verbs) > 1):
        raise StoryInvalid(f"{where}: give either one `VERB: url` or `method` and `url`")
    if verbs:
        method, url = verbs[0], raw[verbs[0]]
    else:
        method, url = raw.get("method", "GET"), raw.get("url")
    if not isinstance(method, str) or method.upper() not in VERBS:
        raise StoryInvalid(f"{where}: method {method!r} is not one of {sorted(VERBS)}")
    if not isinstance(url, str) or not url:
        raise StoryInvalid(f"{where}: the URL {url!r} is not a non-empty string")
    return method.upper(), url


def _poll(raw: object, where: str) -> Poll:
    poll = _mapping(raw, f"{where}: poll")
    count, delay = poll.get("count"), poll.get("delay", 0.1)
    if set(poll) - {"count", "delay"}:
        raise StoryInvalid(f"{where}: poll has `count` and `delay`, nothing else")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_POLL_COUNT:
        raise StoryInvalid(f"{where}: poll count {count!r} is not 1..{MAX_POLL_COUNT}")
    if (
        not isinstance(delay, (int, float))
        or isinstance(delay, bool)
        or not 0 <= delay <= MAX_POLL_DELAY
    ):
        raise StoryInvalid(f"{where}: poll delay {delay!r} is not 0..{MAX_POLL_DELAY} seconds")
    return Poll(count, float(delay))


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StoryInvalid(f"{what} is a mapping, not {type(value).__name__}")
    return value


def _key(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise StoryInvalid(f"{where}: the JSON path {value!r} is not a string")
    return value


def _strings(value: object, what: str) -> dict[str, str]:
    found = _mapping(value, what)
    for key, item in found.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise StoryInvalid(f"{what}: {key!r}: {item!r} is not a string to a string")
    return dict(found)


def _string_list(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise StoryInvalid(f"{where}: {key} is a list of strings")
    return tuple(value)
