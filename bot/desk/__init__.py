"""The agent desk: hand-offs taken over by people; what the console shows and does, without Flask.

Services take a session and return plain values; the caller owns the transaction (commits, then queues
the sending of whatever outbound rows were prepared). One job per module; each imports only those above it:

- ``settings``: config/console.yml and the desk's one clock;
- ``display``: labels in Spanish, masked bodies, waiting times, amounts overdue per currency;
- ``access``: who may act on a hand-off (``DeskError`` when not);
- ``transcript``: the conversation view (messages as agents see them, delivery statuses, notes);
- ``handoff_queue``: the queue, claim and release;
- ``summary``: a hand-off readable in five seconds;
- ``commands``: the agent's reply and the quick actions, give-back and close;
- ``team_hours``: working hours and the out-of-hours notice.
"""
