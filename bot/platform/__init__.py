"""What every part stands on: settings, Redis, the work queue, policies, phones, masking, preflight, the launcher."""
