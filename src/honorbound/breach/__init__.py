"""Breach response: the incident record, the people it affected, the legal deadlines from the
rules data, the notices and the regulator-ready report. Plain Python; adapters call in."""
