"""The personal-data vault: subjects, identities, records and interactions, encrypted per person."""
