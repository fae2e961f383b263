"""JSON schemas of Placement request bodies and query strings, one module per
resource; a version that changes a schema copies the previous one and extends it."""
