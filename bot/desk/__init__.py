"""The agent desk: hand-offs taken over by people, without Flask."""
