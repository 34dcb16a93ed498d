"""Sign-in under attack: attempts counted before the password is compared (also in parallel and
across addresses), a limiter that fails closed, and the same work whatever the username."""

from __future__ import annotations

import threading
import time

import pytest

from tests.console.helpers import PASSWORD, csrf_from, login
from tests.environment import free_port


@pytest.fixture()
def hash_calls(monkeypatch):
    """Every password hash comparison and generation, wherever it is called from; the comparison is
    slowed down so that parallel requests really overlap while a password is being checked."""
    import werkzeug.security

    from bot.staff import users

    calls: dict[str, int] = {"check": 0, "generate": 0}
    lock = threading.Lock()
    real_check, real_generate = werkzeug.security.check_password_hash, werkzeug.security.generate_password_hash

    def check(pwhash: str, password: str) -> bool:
        with lock:
            calls["check"] += 1
        time.sleep(0.05)
        return real_check(pwhash, password)

    def generate(password: str, *args, **kwargs) -> str:
        with lock:
            calls["generate"] += 1
        return real_generate(password, *args, **kwargs)

    for module in (werkzeug.security, users):
        monkeypatch.setattr(module, "check_password_hash", check)
        monkeypatch.setattr(module, "generate_password_hash", generate)
    return calls


@pytest.fixture()
def known_user(session):
    from bot.staff import users

    user = users.create_or_update(session, "agente", "agent", PASSWORD, name="Agente")
    session.commit()
    return user


def _clients(app, ips: list[str]) -> list:
    """One test client per address, each holding the CSRF token of its own session."""
    out = []
    for ip in ips:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = ip
        client.token = csrf_from(client.get("/console/login").get_data(as_text=True))
        out.append(client)
    return out


def _post_all_at_once(clients: list, username: str, password: str) -> list[int]:
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(client) -> None:
        barrier.wait()
        resp = client.post(
            "/console/login", data={"username": username, "password": password, "csrf_token": client.token}
        )
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def test_parallel_guesses_from_one_address_reach_the_password_check_at_most_5_times(
    app, known_user, redis_client, hash_calls
):
    from bot.staff.login_limits import PAIR_LIMIT

    statuses = _post_all_at_once(_clients(app, ["203.0.113.7"] * 12), "agente", "wrong-password")
    assert hash_calls["check"] == PAIR_LIMIT == 5
    assert sorted(statuses) == [401] * 5 + [429] * 7


@pytest.mark.slow
def test_parallel_guesses_spread_over_many_addresses_hit_the_username_limit(app, known_user, redis_client, hash_calls):
    from bot.staff.login_limits import USERNAME_LIMIT

    ips = [f"198.51.100.{i}" for i in range(1, 31)]  # a botnet: one guess from each of 30 addresses
    statuses = _post_all_at_once(_clients(app, ips), "agente", "wrong-password")
    assert hash_calls["check"] == USERNAME_LIMIT == 20
    assert statuses.count(401) == 20 and statuses.count(429) == 10
    # the real user, from an address never seen, is refused too until the window is over
    (fresh,) = _clients(app, ["192.0.2.55"])
    assert login(fresh, "agente").status_code == 429


def test_a_successful_login_gives_its_attempt_back(app, known_user, redis_client):
    from bot.staff.login_limits import LoginLimiter

    (client,) = _clients(app, ["192.0.2.1"])
    assert login(client, "agente", "wrong-password").status_code == 401
    assert login(client, "agente").status_code == 302
    pair, by_username, by_ip = LoginLimiter.keys("agente", "192.0.2.1")
    assert redis_client.get(pair) is None  # the pair starts over
    assert int(redis_client.get(by_username)) == 1 and int(redis_client.get(by_ip)) == 1  # the failure stays


def _unusable_redis_url(*args, **kwargs):
    raise ValueError("Redis URL must specify one of the following schemes")


@pytest.mark.parametrize("broken", ["unreachable", "misconfigured"])
def test_without_redis_nobody_signs_in(app, known_user, monkeypatch, broken):
    import redis

    from bot.platform import redis_client as redis_module

    unreachable = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr(
        redis_module, "get_redis", (lambda *a, **k: unreachable) if broken == "unreachable" else _unusable_redis_url
    )
    client = app.test_client()
    resp = login(client, "agente")  # even with the right password
    assert resp.status_code == 503
    assert "no está disponible" in resp.get_data(as_text=True)
    assert client.get("/console/").status_code == 302  # not signed in: sent to the login page


@pytest.mark.parametrize(
    "username, password, signs_in",
    [
        ("nadie", "wrong-password", False),  # unknown user
        ("agente", "wrong-password", False),  # known user, wrong password
        ("agente", "", False),  # known user, empty password
        ("", "", False),  # nothing at all
        ("inactivo", PASSWORD, False),  # a deactivated user with the right password
        ("agente", PASSWORD, True),
    ],
)
def test_every_attempt_costs_exactly_one_password_hash(
    app, known_user, session, redis_client, hash_calls, username, password, signs_in
):
    from bot.staff import users

    users.create_or_update(session, "inactivo", "agent", PASSWORD).active = False
    session.commit()
    hash_calls.update(check=0, generate=0)
    (client,) = _clients(app, ["192.0.2.9"])
    resp = client.post("/console/login", data={"username": username, "password": password, "csrf_token": client.token})
    assert resp.status_code == (302 if signs_in else 401)
    assert hash_calls == {"check": 1, "generate": 0}


def test_the_dummy_hash_costs_what_a_real_one_costs():
    from werkzeug.security import generate_password_hash

    from bot.staff import users

    assert users.DUMMY_HASH.split("$")[0] == generate_password_hash("x").split("$")[0]  # same KDF and parameters
