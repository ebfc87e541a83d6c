"""Collecting interactions in bulk: the checks of the single endpoint, in batches (`bulk`)."""
