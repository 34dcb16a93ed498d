"""The demo portfolio and its generated history; seeded only in demo mode."""
