"""Servers' lifecycle: the state vocabulary and transition table (``states``) and the
service that applies transitions to the database (``service``), shared by the
Compute API and the conductor."""
