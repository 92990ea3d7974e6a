"""Central as a WSGI application for gunicorn: ``gunicorn 'central.wsgi:app'``.

Every worker process builds its own app from the environment (``FIDELIS_DATABASE_URL``,
``FIDELIS_CENTRAL_KEY``); they share nothing but the database, so any number may run side by
side. Run ``fidelis-central init`` first: a worker refuses a schema that is behind or ahead.
"""

from __future__ import annotations

from sync import web

from .app import create_app

app = create_app()
"""The application gunicorn serves."""
web.settle_heap()
