"""Identity: the real Keystone that `virtfleet up` runs beside the APIs.

:mod:`.layout` is the Keystone directory under the data dir (its configuration,
SQLite database, keys and the generated passwords); :mod:`.bootstrap` creates it on
first start with ``keystone-manage``; :mod:`.serve` is the child process that serves
Keystone's WSGI application; :mod:`.embedded` starts and supervises that child;
:mod:`.catalog` makes the service user and the service catalog; :mod:`.session` gives
clients a token and the catalog from a password.
"""
