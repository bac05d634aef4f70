"""chalicelib/audit_log.py: one JSON object per line with ids, names, kinds and times only; a failed write never
undoes a stored event; app.py lets INFO through in Lambda, where Chalice keeps app.log at ERROR and the runtime's root
logger at WARNING."""
from __future__ import annotations

import io
import json
import logging
import sys
from collections import Counter
from datetime import datetime, timezone

import pytest

from chalicelib import audit_log
from chalicelib.domain.requests import Event

AT = datetime(2026, 11, 28, 12, 30, 5, 123456, tzinfo=timezone.utc)


def test_an_event_is_one_line_without_its_details(capsys: pytest.CaptureFixture[str]) -> None:
    event = Event("r-1", 3, "denied", AT, "carol", "slack",
                  {"comment": "xoxb-looks-like-a-token", "console_url": "/v1/console/abc.def"})
    audit_log.audit_event(event, "s3-prod", "denied")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "xoxb" not in out and "console" not in out
    assert json.loads(out) == {"type": "audit", "request_id": "r-1", "version": 3, "kind": "denied", "actor": "carol",
                               "channel": "slack", "profile": "s3-prod", "state": "denied",
                               "at": "2026-11-28T12:30:05Z"}


def test_a_sweep_pass_is_one_line_with_its_counts(capsys: pytest.CaptureFixture[str]) -> None:
    audit_log.sweep_pass(Counter({"expired": 2, "reminder_sent": 1}), 1, 0, AT)
    assert json.loads(capsys.readouterr().out) == {"type": "sweep", "done": {"expired": 2, "reminder_sent": 1},
                                                   "repaired": 1, "errors": 0, "at": "2026-11-28T12:30:05Z"}


def test_a_failed_write_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    audit_log.audit_event(Event("r-2", 1, "created", AT, "alice", "api"), "s3-prod", "pending")
    assert "audit line not written" in caplog.text and "r-2" in caplog.text


def test_info_reaches_lambdas_root_handler() -> None:
    import app

    root = logging.getLogger()
    level, handler = root.level, _Collect()
    root.setLevel(logging.WARNING)  # as Lambda's Python runtime leaves it
    root.addHandler(handler)
    try:
        logging.getLogger("chalicelib.sweeper").info("a chalicelib INFO line")
        assert app.app.log.isEnabledFor(logging.INFO), "Chalice's app.log is at ERROR unless debug"
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert handler.messages == ["a chalicelib INFO line"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_line_is_compact_json_as_the_metric_filters_and_people_read_it(capsys: pytest.CaptureFixture[str]) -> None:
    audit_log.sweep_pass(Counter({"expired": 2}), 0, 1, AT)
    assert capsys.readouterr().out == ('{"type":"sweep","done":{"expired":2},"repaired":0,"errors":1,'
                                       '"at":"2026-11-28T12:30:05Z"}\n')


@pytest.mark.parametrize("write,logged", [
    (lambda: audit_log.audit_event(Event("r-2", 1, "created", AT, "alice", "api"), "s3-prod", "pending"),
     "audit line not written (I/O operation on closed file): audit r-2"),
    (lambda: audit_log.sweep_pass(Counter(), 0, 0, AT),
     "audit line not written (I/O operation on closed file): sweep "),
])
def test_a_failed_write_logs_why_and_which_line(monkeypatch: pytest.MonkeyPatch, caplog, write, logged) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    write()
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "chalicelib.audit_log"] == [
        (logging.ERROR, logged)]
