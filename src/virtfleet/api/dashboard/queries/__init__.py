"""What the dashboard shows, read straight from the database in a few aggregate or
paged queries per page (never one query per host): plain JSON-ready dicts that the
pages render and the ``/dashboard/api/...`` routes return as they are."""
