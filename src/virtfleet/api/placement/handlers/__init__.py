"""Placement request handlers, one module per resource. Each handler takes the
placement service and the request (plus path parameters) and returns a response."""
