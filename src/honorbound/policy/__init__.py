"""Privacy notice as code: the declaration, its check, rendering, versions and the US rules."""
