"""Keys and authenticated encryption (AES-256-GCM from `cryptography`)."""
