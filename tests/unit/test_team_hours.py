"""Team hours per country (config/console.yml): the debtor's team, its holidays, and the opening time worded
in the debtor's own time zone (issue #28 §5)."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from bot.desk import team_hours
from bot.desk.team_hours import TeamHoursError

WEEK = {d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
BOGOTA = {
    "timezone": "America/Bogota",
    "label": "hora de Colombia",
    "holidays": "CO",
    "days": {**WEEK, "sat": ["09:00", "13:00"]},
}
OLD = {"working_hours": BOGOTA}  # the file's shape before teams: one block
CHILE_TEAM = {
    "countries": ["CL"],
    "timezone": "America/Santiago",
    "label": "hora de Chile",
    "holidays": "CL",
    "days": {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
}
WITH_CHILE = {"working_hours": BOGOTA, "teams": {"chile": CHILE_TEAM}}


def debtor(country: str, tz: str = "") -> SimpleNamespace:
    return SimpleNamespace(country=country, timezone=tz)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


FRIDAY_1930_BOGOTA = utc("2026-11-28T00:30:00")  # Friday 27 Nov, 19:30 in Bogotá; the team opens Saturday 9:00


def test_a_mexican_debtor_is_told_the_mexican_local_opening_time():
    mx = debtor("MX", "America/Mexico_City")  # UTC-6: Saturday 9:00 in Bogotá is 8:00 in Mexico City
    notice = team_hours.out_of_hours_notice(FRIDAY_1930_BOGOTA, OLD, mx)
    assert "mañana a partir de las 8:00" in notice
    assert "hora de" not in notice and "9:00" not in notice
    state = team_hours.availability(mx, FRIDAY_1930_BOGOTA, OLD)
    assert not state.open and state.when == "mañana a partir de las 8:00"
    assert state.opening.isoformat() == "2026-11-28T08:00:00-06:00"


def test_an_argentine_debtor_is_told_the_argentine_local_opening_time():
    ar = debtor("AR", "America/Argentina/Buenos_Aires")  # UTC-3: Saturday 9:00 in Bogotá is 11:00
    assert team_hours.availability(ar, FRIDAY_1930_BOGOTA, OLD).when == "mañana a partir de las 11:00"


def test_a_debtor_with_no_zone_of_their_own_gets_the_countrys_and_else_the_team_named():
    assert team_hours.availability(debtor("PE"), FRIDAY_1930_BOGOTA, OLD).when == "mañana a partir de las 9:00"
    assert team_hours.availability(debtor("MX", "Not/AZone"), FRIDAY_1930_BOGOTA, OLD).when == (
        "mañana a partir de las 8:00"
    )
    unknown = team_hours.availability(debtor("ZZ"), FRIDAY_1930_BOGOTA, OLD).when
    assert unknown == "mañana a partir de las 9:00 (hora de Colombia)"
    assert team_hours.availability(None, FRIDAY_1930_BOGOTA, OLD).when == unknown
    unnamed = {"working_hours": {**BOGOTA, "label": ""}}
    assert team_hours.availability(None, FRIDAY_1930_BOGOTA, unnamed).when.endswith("(hora de Bogota)")


def test_a_colombian_debtor_in_the_teams_own_zone_reads_no_zone_name():
    notice = team_hours.out_of_hours_notice(FRIDAY_1930_BOGOTA, OLD, debtor("CO", "America/Bogota"))
    assert "mañana a partir de las 9:00" in notice and "hora de Colombia" not in notice


def test_a_national_holiday_of_the_teams_country_is_closed_for_every_debtor():
    holiday = utc("2026-12-08T15:00:00")  # Tuesday 10:00 in Bogotá, Inmaculada Concepción (CO; not in MX)
    mx = debtor("MX", "America/Mexico_City")
    assert not team_hours.is_working_time(holiday, OLD, mx)
    assert team_hours.availability(mx, holiday, OLD).when == "mañana a partir de las 7:00"
    assert team_hours.is_working_time(utc("2026-12-09T15:00:00"), OLD, mx)


def test_a_chilean_team_with_its_own_hours_answers_chilean_debtors():
    cl = debtor("CL", "America/Santiago")
    co = debtor("CO", "America/Bogota")
    evening = utc("2026-11-24T22:00:00")  # Tuesday: 17:00 in Bogotá (at work), 19:00 in Santiago (closed)
    assert team_hours.team_for(cl, WITH_CHILE).name == "chile"
    assert team_hours.team_for(co, WITH_CHILE).name == "default"
    assert team_hours.availability(co, evening, WITH_CHILE).open
    state = team_hours.availability(cl, evening, WITH_CHILE)
    assert not state.open and state.when == "mañana a partir de las 9:00"
    # Saturday morning: the Bogotá team works, the Chilean one does not work Saturdays.
    saturday = utc("2026-11-28T15:00:00")
    assert team_hours.availability(co, saturday, WITH_CHILE).open
    assert team_hours.availability(cl, saturday, WITH_CHILE).when == "el lunes a partir de las 9:00"


def test_the_chilean_teams_own_holidays_close_it():
    cl = debtor("CL", "America/Santiago")
    fiestas_patrias = utc("2026-09-18T14:00:00")  # Friday 18 Sep, 11:00 in Santiago; Saturday 19 is a holiday too
    assert not team_hours.is_working_time(fiestas_patrias, WITH_CHILE, cl)
    assert team_hours.availability(cl, fiestas_patrias, WITH_CHILE).when == "el lunes a partir de las 9:00"
    assert team_hours.is_working_time(fiestas_patrias, WITH_CHILE, debtor("CO", "America/Bogota"))


def test_the_old_single_block_config_still_loads_and_means_the_same():
    hours = team_hours.hours(OLD)
    assert hours.teams == () and hours.default is not None
    assert str(hours.default.zone) == "America/Bogota" and hours.default.holidays == "CO"
    assert team_hours.team_for(debtor("CL"), OLD) == hours.default
    assert team_hours.next_opening(FRIDAY_1930_BOGOTA, OLD).isoformat() == "2026-11-28T09:00:00-05:00"
    assert "mañana a partir de las 9:00 (hora de Colombia)" in team_hours.out_of_hours_notice(FRIDAY_1930_BOGOTA, OLD)
    assert team_hours.hours({}).default is None and team_hours.is_working_time(FRIDAY_1930_BOGOTA, {})


def test_the_shipped_config_loads():
    hours = team_hours.hours()
    assert hours.default is not None and hours.default.days


def test_an_opening_more_than_a_week_away_names_the_date():
    opening = datetime(2027, 1, 11, 8, 0, tzinfo=timezone.utc)
    assert team_hours.when_words(opening, utc("2027-01-01T12:00:00")) == "el lunes 11 de enero a partir de las 8:00"
    assert team_hours.when_words(opening.replace(hour=1), utc("2027-01-11T00:30:00")) == "hoy a partir de la 1:00"


def test_unquoted_yaml_times_are_read_as_minutes():
    cfg = {"working_hours": {**BOGOTA, "days": {"mon": [480, 1080]}}}  # YAML 1.1 reads 8:00 as 480
    assert team_hours.hours(cfg).default.days[0][1].hour == 18


@pytest.mark.parametrize(
    "cfg, where",
    [
        ({"working_hours": {**BOGOTA, "timezone": "America/Bogata"}}, "working_hours.timezone"),
        ({"working_hours": {**BOGOTA, "days": {"lun": ["08:00", "18:00"]}}}, "working_hours.days"),
        ({"working_hours": {**BOGOTA, "days": {"mon": ["18:00", "08:00"]}}}, "working_hours.days.mon"),
        ({"working_hours": {**BOGOTA, "days": {"mon": ["8h", "18:00"]}}}, "working_hours.days.mon"),
        ({"working_hours": {**BOGOTA, "days": {"mon": ["08:00"]}}}, "working_hours.days.mon"),
        ({"working_hours": {**BOGOTA, "holidays": "XX"}}, "working_hours.holidays"),
        ({"working_hours": {**BOGOTA, "hollidays": "CO"}}, "working_hours"),
        ({"working_hours": {**BOGOTA, "countries": ["CO"]}}, "working_hours"),
        ({"teams": {"chile": {**CHILE_TEAM, "countries": []}}}, "teams.chile.countries"),
        ({"teams": {"chile": {**CHILE_TEAM, "countries": ["Chile"]}}}, "teams.chile.countries"),
        ({"teams": {"a": CHILE_TEAM, "b": CHILE_TEAM}}, "teams.b.countries"),
        ({"teams": {"chile": {k: v for k, v in CHILE_TEAM.items() if k != "timezone"}}}, "teams.chile"),
        ({"teams": ["chile"]}, "teams"),
    ],
)
def test_a_wrong_config_stops_with_the_key_named(cfg, where):
    with pytest.raises(TeamHoursError, match=rf"config/console.yml, {where}\b"):
        team_hours.hours(cfg)


def test_a_hand_off_too_close_to_closing_time_is_told_the_next_opening():
    """17:50 with the team closing at 18:00: "unos 30 minutos" would be a promise the team cannot keep."""
    co = debtor("CO", "America/Bogota")
    before_closing = utc("2026-11-26T22:50:00")  # Thursday 17:50 in Bogotá
    state = team_hours.availability(co, before_closing, OLD)
    assert not state.open and state.when == "mañana a partir de las 8:00"
    with_time_to_answer = utc("2026-11-26T22:20:00")  # 17:20: half an hour still fits
    assert team_hours.availability(co, with_time_to_answer, OLD).open
