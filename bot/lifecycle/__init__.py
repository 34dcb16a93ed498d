"""The data lifecycle: retention of messages, Rasa trackers and contact records; erasure and export on request;
backup and restore."""
