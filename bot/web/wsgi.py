"""WSGI entry point for gunicorn: ``bot.web.wsgi:app``, its log lines through bot/platform/logs.py."""

from bot.platform import logs
from bot.web import create_app

logs.configure("web")
app = create_app()
