"""A BPO working for many clients: the cross-client desk (and, later, its shared lists)."""
