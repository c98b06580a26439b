"""The audit trail of Art. 6: every write and every draw leaves an event."""
