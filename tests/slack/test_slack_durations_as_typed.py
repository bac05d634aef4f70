"""`/request-access s3-prod 2 hours ...` as people type it: understood, and when not, the error quotes what they
typed (issue 14: `2 hours` came back as "duration '2' is not understood")."""
from __future__ import annotations

from chalicelib import bootstrap


def requests_of(person: str) -> list:
    return bootstrap.broker().repo.by_requester(person, 50, None).items


def test_two_hours_in_words_asks_for_two_hours(slack) -> None:
    answer = slack.command("s3-prod 2 hours fixing the export")
    assert "*S3 prod* (`s3-prod`) for *2h*" in answer.json["text"], answer.json["text"]
    [stored] = requests_of("s3-access")
    assert (stored.duration_seconds, stored.reason) == (7200, "fixing the export")


def test_an_hour_and_a_half_in_words(slack) -> None:
    slack.command("s3-prod 1 hour 30 minutes fixing the export")
    assert [r.duration_seconds for r in requests_of("s3-access")] == [5400]


def test_a_duration_not_understood_is_quoted_as_typed(slack) -> None:
    for text, typed in (("s3-prod 2 hourz fixing", "2 hourz"), ("s3-prod 1.5 hours fixing", "1.5 hours"),
                        ("s3-prod 2 fixing the export", "2 fixing")):
        said = slack.command(text).json["text"]
        assert f"duration '{typed}' is not understood" in said, said
        assert "`2h`" in said  # and how to write it
    assert requests_of("s3-access") == []


def test_help_shows_durations_in_words(slack) -> None:
    assert "`2 hours`" in slack.command("help").json["text"]
