"""Organizations (data controllers), staff users, roles and API keys."""
