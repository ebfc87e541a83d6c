"""Retention enforcement: keep nothing longer than the adopted declaration promises."""
