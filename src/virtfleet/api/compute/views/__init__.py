"""How Compute API resources look per microversion, one module per resource."""
