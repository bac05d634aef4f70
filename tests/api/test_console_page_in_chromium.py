"""The console link's page as a person sees it: Debian's Chromium, headless, opens the link of a revoked grant from
the app served locally (tools/local_server.py); we read its DOM (--dump-dom) and its screenshot (a PNG).

`make test` installs Chromium where it is missing. Without it this test skips on a workstation and fails on CI
(env CI set), so CI never passes without having looked."""
from __future__ import annotations

import os
import re
import struct
import subprocess
import zlib
from collections import Counter
from html import unescape
from pathlib import Path

import pytest
import requests

from tests.api.served_app import served  # noqa: F401 (a fixture)
from tools.world import SOURCE_ACCOUNT

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 800, 600
# Headless, and quiet: no first-run, no background fetches, no component updates or sync, QUIC off
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    missing = f"{CHROMIUM} is missing: `make test` installs Debian's package `chromium`"
    if os.environ.get("CI"):
        pytest.fail(missing + " (CI is set: this check must run there)")
    pytest.skip(missing)


def browse(chromium: Path, tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(chromium), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args, url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}"
    return done


def as_person(person: str) -> dict[str, str]:
    return {"X-Local-Principal": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{person}"}


@pytest.fixture(scope="module")
def revoked_link(served: str) -> str:  # noqa: F811
    """The console link of a grant that s3-access had and revoked, as Slack's DM gave it."""
    created = requests.post(f"{served}/v1/requests", json={"profile": "s3-prod", "duration": "1h",
                                                            "reason": "fixing the export job"},
                            headers=as_person("s3-access"), timeout=30)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    granted = requests.post(f"{served}/v1/requests/{request_id}/approve", json={}, headers=as_person("bob"),
                            timeout=30).json()
    revoked = requests.post(f"{served}/v1/requests/{request_id}/revoke", json={}, headers=as_person("s3-access"),
                            timeout=30)
    assert revoked.status_code == 200, revoked.text
    return served + granted["grant"]["console_url"]


def test_the_page_reads_what_happened_until_when_and_how_to_ask_again(chromium: Path, tmp_path: Path,
                                                                      revoked_link: str) -> None:
    dom = browse(chromium, tmp_path, revoked_link, "--dump-dom").stdout
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", dom.split("<body>", 1)[1])).split())
    assert "<title>Your access to S3 prod has ended · access-broker</title>" in dom
    assert re.search(r"<h1>Your access to S3 prod has ended</h1>", dom)
    assert re.search(r"It was revoked: your access ran until <time datetime=\"[0-9T:-]+Z\">[0-9 :-]+ UTC</time>\.",
                     dom), text
    assert "To ask again, type /request-access s3-prod in Slack" in text
    assert "<script" not in dom


def test_an_altered_link_reads_as_not_valid(chromium: Path, tmp_path: Path, revoked_link: str) -> None:
    dom = browse(chromium, tmp_path, revoked_link[:-4] + "AAAA", "--dump-dom").stdout
    assert "<h1>This console link is not valid</h1>" in dom
    assert "/request-access &lt;profile&gt;" in dom  # escaped, so the browser shows it rather than parsing a tag


def test_the_screenshot_shows_the_page(chromium: Path, tmp_path: Path, revoked_link: str) -> None:
    shot = tmp_path / "page.png"
    browse(chromium, tmp_path, revoked_link, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}")
    assert shot.exists() and shot.stat().st_size > 0
    width, height, pixels = read_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    colours = Counter(pixels)
    background, share = colours.most_common(1)[0]
    assert background == (255, 255, 255) and share < 0.99 * len(pixels), "a blank page"
    dark = sum(n for rgb, n in colours.items() if max(rgb) < 96)
    assert dark > 2000, f"hardly any text: {dark} dark pixels"  # the heading and paragraphs
    assert any(r > 150 and g < 80 and b < 80 for r, g, b in colours), "no red bar beside the heading"
    assert (238, 244, 251) in colours, "no box around how to ask again"
    # The text sits in the page's top half and in its middle column (max-width 36em, centred)
    rows_with_ink = [y for y in range(height) if any(max(pixels[y * width + x]) < 96 for x in range(width))]
    assert rows_with_ink and rows_with_ink[0] < height // 4 and rows_with_ink[-1] < height * 3 // 4


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels (row by row) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, at = {}, 8
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks[kind] = chunks.get(kind, b"") + data[at + 8:at + 8 + size]
        at += 12 + size
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    step = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(chunks[b"IDAT"]), width * step
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride) if kind else ():  # filter 0: the bytes as they are
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            guess = left if kind == 1 else up if kind == 2 else (left + up) // 2 if kind == 3 else \
                _paeth(left, up, corner)
            line[i] = (line[i] + guess) & 0xFF
        rows.append(line)
        previous = line
    return width, height, [tuple(row[x:x + 3]) for row in rows for x in range(0, stride, step)]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
