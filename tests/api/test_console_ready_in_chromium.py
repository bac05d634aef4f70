"""The console link before its grant is usable, as a person's browser sees it (Debian's Chromium, headless): a page
saying access is getting ready, which moves on to the AWS console's switch-role page by itself once IAM has applied
the grant. No network reaches AWS here, so "moved on" is Chromium's own page for signin.aws.amazon.com."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests

from chalicelib import bootstrap
from tests.api.served_app import served  # noqa: F401 (a fixture)
from tests.api.test_console_page_in_chromium import as_person, browse, chromium  # noqa: F401 (chromium: a fixture)

DELAY_S = "20"  # the world's model as the broker counts it: the grant is usable 21 s after its attach


@pytest.fixture
def fresh_link(served: str) -> str:  # noqa: F811
    """The console link of a grant approved just now, by a broker that counts on IAM taking DELAY_S seconds."""
    before = os.environ.get("LOCAL_IAM_PROPAGATION")
    os.environ["LOCAL_IAM_PROPAGATION"] = DELAY_S
    bootstrap.reset()
    try:
        created = requests.post(f"{served}/v1/requests", json={"profile": "s3-prod", "duration": "1h",
                                                                "reason": "fixing the export job"},
                                headers=as_person("s3-access"), timeout=30)
        assert created.status_code == 201, created.text
        granted = requests.post(f"{served}/v1/requests/{created.json()['id']}/approve", json={},
                                headers=as_person("bob"), timeout=30).json()
        yield served + granted["grant"]["console_url"]
    finally:
        os.environ["LOCAL_IAM_PROPAGATION"] = before or "0"
        bootstrap.reset()


def test_the_page_says_access_is_getting_ready(chromium: Path, tmp_path: Path, fresh_link: str) -> None:  # noqa: F811
    dom = browse(chromium, tmp_path, fresh_link, "--dump-dom").stdout
    assert "<title>Your access is getting ready · access-broker</title>" in dom
    assert re.search(r"moves on to the AWS console by itself at\s+<time datetime=\"[0-9T:-]+Z\">[0-9:]+ UTC</time>",
                     dom), dom
    assert "<script" not in dom


def test_it_moves_on_to_the_switch_role_page_by_itself(chromium: Path, tmp_path: Path,  # noqa: F811
                                                       fresh_link: str) -> None:
    dom = browse(chromium, tmp_path, fresh_link, "--virtual-time-budget=30000", "--dump-dom").stdout
    assert "<title>signin.aws.amazon.com</title>" in dom, "the browser went on to AWS's switch-role page"
