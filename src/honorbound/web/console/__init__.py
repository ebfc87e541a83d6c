"""The staff console: one module per page family, each a thin router over domain functions."""
