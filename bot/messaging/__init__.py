"""What goes out and how: the outbox (and queueing its sending), SMS and WhatsApp formats, templates, the
contact policy."""
