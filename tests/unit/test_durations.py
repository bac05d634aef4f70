import pytest

from chalicelib.domain.durations import format_duration, parse_duration
from chalicelib.domain.errors import Unprocessable


@pytest.mark.parametrize("text,seconds", [
    ("90m", 5400), ("2h", 7200), ("1h30m", 5400), ("PT2H", 7200), ("pt90m", 5400), ("PT1H30M", 5400),
    ("45s", 45), (" 2h ", 7200), ("1d", 86400),
])
def test_people_type_durations_in_short_or_iso_form(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2 hours", "h", "-1h", "0m", "PT", "P", "2x", None, 7200])
def test_a_duration_that_is_not_understood_says_which_forms_are(text):
    with pytest.raises(Unprocessable) as caught:
        parse_duration(text)
    assert "2h" in caught.value.detail and "PT2H" in caught.value.detail or "zero" in caught.value.detail


def test_durations_print_the_way_people_type_them():
    assert [format_duration(s) for s in (7200, 5400, 60, 45)] == ["2h", "1h30m", "1m", "45s"]
