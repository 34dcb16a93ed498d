"""Recobra's custom actions (rasa_sdk): thin wrappers that read the turn, call a service in ``bot/``
and answer with domain responses. One module per conversation area; nothing heavy at import."""
