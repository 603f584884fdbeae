"""Email: the transactional outbox, its worker and senders (SPEC §7)."""
