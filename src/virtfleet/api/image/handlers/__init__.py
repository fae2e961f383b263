"""Image API request handlers, one module per resource. Each handler takes the
:class:`~virtfleet.image.service.ImageService` and the request (plus path parameters)
and returns a response; ``routes.py`` says which path reaches which."""
