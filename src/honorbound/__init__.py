"""Honorbound: your privacy notice, enforced."""

__version__ = "0.1.0"
