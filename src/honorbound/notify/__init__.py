"""Everything the system sends to people goes through the outbox."""
