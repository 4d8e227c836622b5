"""monitio's SSE gateway: a gevent WSGI app that streams each user's live events.

Run it with ``gunicorn -k sse_gateway.worker.StreamWorker sse_gateway.wsgi:application``
(see ``docs/gateway.md``). One module per concept:

``config``   the site's settings module, then ``MONITIO_*`` variables -> :class:`~sse_gateway.config.Config`
``fdlimit``  the stream cap fitted to the open-file limit
``event``    the SSE wire encoding (field-injection safe)
``auth``     the :class:`~sse_gateway.auth.Authenticator` seam: cookie token, revocation
``history``  the :class:`~sse_gateway.history.History` seam: replay or resync
``broker``   the :class:`~sse_gateway.broker.Broker` seam: the fan-out stream reader
``client``   one open stream's small state
``hub``      routing, catch-up, slow-client drops, drain
``http``     plain responses, Origin check, CORS
``app``      the WSGI application; ``wsgi`` its gunicorn entry point
``worker``   the gunicorn worker class that serves it (gevent's WSGI server)
``handoff``  how an admitted stream's connection passes from that server to the hub
"""
