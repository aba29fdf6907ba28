"""The remote-managed stories: one test per YAML file in `remote_managed/`, each on a new cloud.

Tempest refuses `remote-managed` as a vnic_type, so these stories are the
API's declarative coverage of it (format: docs/declarative-tests.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pytest

from tests.api.declarative.cloud import story_cloud
from tests.api.declarative.runner import StepFailed, run_story
from tests.api.declarative.story import load_story

STORIES: Final = sorted((Path(__file__).parent / "remote_managed").glob("*.yaml"))


@pytest.mark.parametrize("path", STORIES, ids=[p.stem for p in STORIES])
def test_story(path: Path, tmp_path: Path) -> None:
    story = load_story(path)
    with story_cloud(tmp_path) as cloud:
        try:
            run_story(story, cloud.client, cloud.environ)
        except StepFailed as exc:
            # The step's own report says it all: no traceback through httpx.
            pytest.fail(str(exc), pytrace=False)
