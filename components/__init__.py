"""Custom Rasa graph components of Recobra's NLU pipeline (referenced from config.yml)."""
