"""JSON schemas of Image API request bodies, one module per resource (checked with
:func:`virtfleet.api.validation.validate`); the image service checks the rest."""
