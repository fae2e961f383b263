"""Compute API request handlers, one module per resource. Each handler takes the
:class:`~virtfleet.api.compute.deps.ComputeDeps` and the request (plus path
parameters) and returns a response; ``routes.py`` says which path reaches which."""
