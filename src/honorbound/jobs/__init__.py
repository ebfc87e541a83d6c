"""Durable background and scheduled work: a job table for durability, huey for execution."""

from honorbound.jobs.models import Job, JobStatus
from honorbound.jobs.queue import JobQueue
from honorbound.jobs.registry import JobRegistry, Periodic

__all__ = ["Job", "JobQueue", "JobRegistry", "JobStatus", "Periodic"]
