"""The worker: takes jobs off the queue, runs the scheduler. Each job opens its own session."""
