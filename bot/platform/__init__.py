"""What every part stands on: settings, the store session, Redis, the work queue, policies, audit, staff users."""
