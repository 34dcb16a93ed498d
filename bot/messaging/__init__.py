"""What goes out and how: the outbox, SMS and WhatsApp formats, templates, the contact policy."""
