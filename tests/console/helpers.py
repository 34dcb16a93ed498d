"""Helpers for the console tests: CSRF tokens and signing in through the real login form."""

from __future__ import annotations

import re

PASSWORD = "correct-horse-battery"


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/console/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token})


def token(client, path: str = "/console/") -> str:
    """A CSRF token of the signed-in session (from any console page)."""
    return csrf_from(client.get(path).get_data(as_text=True))
