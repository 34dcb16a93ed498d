#!/usr/bin/env bash
# The restore drill (docs/operations.md, "Backup and restore"): back up the store named by DATABASE_URL (and Rasa's
# tracker store), wipe it, restore it, and check that the debtors, their balances, every table's row count and an
# /api/v1 read are what they were. Stop the web, worker and Rasa first. Exit 1 when anything differs.
# Arguments go to `python -m bot restore-drill` (--to DIR, --force in production).
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bot restore-drill "$@"
