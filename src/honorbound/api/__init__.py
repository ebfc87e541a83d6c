"""The JSON API under /v1 (FastAPI). Routers are thin: parse, call one domain function, render."""
