"""The dashboard's handlers: ``pages`` (HTML), ``data`` (the same as JSON), ``actions``
(operator actions as POST forms), ``login`` (the session), ``static`` (script, style)."""
