"""How many times one may try to sign in: per username + IP, per username across every IP, per IP.

Why each limit: the pair stops a guesser at one desk without locking a colleague elsewhere out; the
username limit stops the same guessing spread over many addresses (a botnet); the IP limit stops
one address from trying many usernames.

Every attempt is *reserved* in Redis, in one Lua script, before the password is compared: the
script reads all three counters and increments them only if none is at its limit, so parallel
requests cannot all slip in between a read and a write. A successful sign-in gives its
reservation back (and clears the pair). If Redis cannot be reached the limiter raises
``LimiterUnavailable`` and the caller refuses the login: a limiter that fails open is no limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)

PAIR_LIMIT = 5  # attempts without success per username from one IP
USERNAME_LIMIT = 20  # per username, whatever the IP
IP_LIMIT = 30  # per IP, whatever the username
WINDOW = timedelta(minutes=15)  # counted from the first attempt of the window

# KEYS: the counters; ARGV: their limits, then the window in seconds. 1 = reserved, 0 = refused.
_RESERVE = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i]) then return 0 end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[#ARGV]) end
end
return 1
"""
# KEYS[1]: the pair, cleared; the others get the reservation back (never below zero).
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
"""


class LimiterUnavailable(RuntimeError):
    """Redis did not answer: nobody can be let in, since attempts could not be counted."""


@dataclass(frozen=True)
class LoginLimiter:
    """The three login counters in ``redis`` (a redis-py client; the scripts run by EVALSHA)."""

    redis: Any
    pair_limit: int = PAIR_LIMIT
    username_limit: int = USERNAME_LIMIT
    ip_limit: int = IP_LIMIT
    window: timedelta = WINDOW

    @staticmethod
    def keys(username: str, ip: str) -> tuple[str, str, str]:
        return (
            f"recobra:login:fail:{username}:{ip}",
            f"recobra:login:fail-user:{username}",
            f"recobra:login:fail-ip:{ip}",
        )

    def reserve(self, username: str, ip: str) -> bool:
        """Count one attempt, unless a limit is reached (False: refuse without comparing the password)."""
        limits = (self.pair_limit, self.username_limit, self.ip_limit)
        try:
            allowed = self.redis.register_script(_RESERVE)(
                keys=self.keys(username, ip), args=[*limits, int(self.window.total_seconds())]
            )
        except Exception as exc:  # any Redis failure closes the door
            log.warning("login limiter unavailable (Redis): %s", exc)
            raise LimiterUnavailable(str(exc)) from exc
        return int(allowed) == 1

    def succeeded(self, username: str, ip: str) -> None:
        """The attempt was right: clear the pair, give the username and IP their attempt back."""
        try:
            self.redis.register_script(_SUCCEEDED)(keys=self.keys(username, ip))
        except Exception as exc:  # the user is already in; at worst a count stays
            log.warning("login limiter unavailable (Redis): %s", exc)


__all__ = ["LoginLimiter", "LimiterUnavailable", "PAIR_LIMIT", "USERNAME_LIMIT", "IP_LIMIT", "WINDOW"]
