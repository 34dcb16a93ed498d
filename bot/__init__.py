"""Recobra: a conversational collections assistant for Latin America."""
