"""WSGI entry point for gunicorn: ``bot.web.wsgi:app``."""

from bot.web import create_app

app = create_app()
