"""Contact rules: hours, days, holidays, caps and spacing per country; deferral, never dropping."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messaging.contact_policy import Contact, decide, is_holiday, rules_for, violations

BOGOTA = ZoneInfo("America/Bogota")


def local(tzname, *args):
    return datetime(*args, tzinfo=ZoneInfo(tzname))


def test_colombia_weekday_inside_hours_is_allowed():
    d = decide("CO", "America/Bogota", local("America/Bogota", 2026, 11, 24, 10, 0), [], "whatsapp")
    assert d.allowed and d.reasons == ()


def test_colombia_sunday_is_deferred_to_monday_7am():
    d = decide("CO", "America/Bogota", local("America/Bogota", 2026, 11, 22, 10, 0), [], "whatsapp")
    assert not d.allowed and "outside_hours" in d.reasons
    assert d.next_allowed_at.astimezone(BOGOTA) == local("America/Bogota", 2026, 11, 23, 7, 0)


def test_colombia_saturday_closes_at_3pm():
    d = decide("CO", "America/Bogota", local("America/Bogota", 2026, 11, 28, 15, 30), [], "sms")
    assert not d.allowed
    # Sunday closed, Monday 7:00 (30 Nov 2026 is no holiday)
    assert d.next_allowed_at.astimezone(BOGOTA) == local("America/Bogota", 2026, 11, 30, 7, 0)


def test_colombian_holiday_is_skipped():
    # 8 December (Inmaculada Concepción) is a national holiday in Colombia.
    assert is_holiday("CO", datetime(2026, 12, 8).date())
    d = decide("CO", "America/Bogota", local("America/Bogota", 2026, 12, 8, 9, 0), [], "sms")
    assert not d.allowed
    assert d.next_allowed_at.astimezone(BOGOTA) == local("America/Bogota", 2026, 12, 9, 7, 0)


def test_colombia_once_a_day_and_one_channel_a_week():
    now = local("America/Bogota", 2026, 11, 24, 16, 0)
    earlier = [Contact(local("America/Bogota", 2026, 11, 24, 8, 0), "whatsapp")]
    d = decide("CO", "America/Bogota", now, earlier, "whatsapp")
    assert not d.allowed and "daily_cap" in d.reasons
    assert d.next_allowed_at.astimezone(BOGOTA) == local("America/Bogota", 2026, 11, 25, 7, 0)
    # The same week by SMS is not allowed at all: next Monday.
    d = decide("CO", "America/Bogota", local("America/Bogota", 2026, 11, 25, 9, 0), earlier, "sms")
    assert not d.allowed and "one_channel_per_week" in d.reasons
    assert d.next_allowed_at.astimezone(BOGOTA) == local("America/Bogota", 2026, 11, 30, 7, 0)


def test_chile_twice_a_week_two_days_apart():
    tz = "America/Santiago"
    history = [Contact(local(tz, 2026, 11, 23, 9, 0), "sms")]
    d = decide("CL", tz, local(tz, 2026, 11, 24, 9, 0), history, "sms")
    assert not d.allowed and d.reasons == ("min_spacing",)
    assert d.next_allowed_at == local(tz, 2026, 11, 25, 9, 0).astimezone(timezone.utc)
    history.append(Contact(local(tz, 2026, 11, 25, 9, 0), "sms"))
    d = decide("CL", tz, local(tz, 2026, 11, 27, 10, 0), history, "sms")
    assert not d.allowed and "weekly_cap" in d.reasons
    assert d.next_allowed_at.astimezone(ZoneInfo(tz)) == local(tz, 2026, 11, 30, 8, 0)


def test_peru_never_on_saturday():
    d = decide("PE", "America/Lima", local("America/Lima", 2026, 11, 28, 10, 0), [], "whatsapp")
    assert not d.allowed
    assert d.next_allowed_at.astimezone(ZoneInfo("America/Lima")) == local("America/Lima", 2026, 11, 30, 7, 0)


def test_mexico_late_evening_waits_for_morning():
    tz = "America/Mexico_City"
    d = decide("MX", tz, local(tz, 2026, 11, 24, 22, 5), [], "whatsapp")
    assert not d.allowed
    assert d.next_allowed_at.astimezone(ZoneInfo(tz)) == local(tz, 2026, 11, 25, 7, 0)


def test_unknown_country_gets_the_strict_default():
    r = rules_for("ZZ")
    assert r.country == "*"
    d = decide("BR", "America/Sao_Paulo", local("America/Sao_Paulo", 2026, 11, 24, 8, 0), [], "sms")
    assert not d.allowed
    assert d.next_allowed_at.astimezone(ZoneInfo("America/Sao_Paulo")).hour == 9


def test_rules_record_their_version():
    d = decide("CO", "America/Bogota", local("America/Bogota", 2026, 11, 24, 10, 0), [], "sms")
    assert d.rules_version


COUNTRIES = st.sampled_from(["CO", "MX", "CL", "PE", "AR", "US", "BR", "ZZ"])
ZONES = st.sampled_from(
    [
        "America/Bogota",
        "America/Mexico_City",
        "America/Santiago",
        "America/Lima",
        "America/Argentina/Buenos_Aires",
        "America/Tijuana",
        "America/New_York",
        "Pacific/Auckland",
        "UTC",
    ]
)
MOMENTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(timezone.utc)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    country=COUNTRIES,
    tz=ZONES,
    now=MOMENTS,
    offsets=st.lists(st.integers(-20 * 24, 0), max_size=8),
    channels=st.lists(st.sampled_from(["sms", "whatsapp"]), min_size=8, max_size=8),
    channel=st.sampled_from(["sms", "whatsapp"]),
)
def test_never_outside_the_rules_and_never_over_the_caps(country, tz, now, offsets, channels, channel):
    history = [Contact(now + timedelta(hours=h), channels[i]) for i, h in enumerate(offsets)]
    d = decide(country, tz, now, history, channel)
    assert d.next_allowed_at is not None, "a contact is deferred, never dropped"
    at = d.next_allowed_at
    assert at >= now
    rules = rules_for(country)
    assert violations(rules, at, ZoneInfo(tz), history, channel) == {}
    local_at = at.astimezone(ZoneInfo(tz))
    start, end = rules.windows[local_at.weekday()]
    assert start <= local_at.time() < end
    if d.allowed:
        assert at == now
    # Sending at `at` and then asking again never allows a contact over the daily cap.
    again = decide(country, tz, at, [*history, Contact(at, channel)], channel)
    same_day = sum(
        1 for c in [*history, Contact(at, channel)] if c.at.astimezone(ZoneInfo(tz)).date() == local_at.date()
    )
    if rules.max_per_day is not None and same_day >= rules.max_per_day:
        assert not again.allowed
