"""Networking API handlers, one module per resource."""
