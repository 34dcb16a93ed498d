"""Staff accounts: console and dashboard users, their passwords, and how often one may try to sign in."""
