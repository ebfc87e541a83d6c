"""Tamper-evident audit log: a hash chain per organization."""

from honorbound.audit.chain import Actor, ChainProblem, append, head, verify
from honorbound.audit.models import AuditEntry

__all__ = ["Actor", "AuditEntry", "ChainProblem", "append", "head", "verify"]
