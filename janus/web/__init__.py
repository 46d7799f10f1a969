"""The Janus web app: request form, my requests and grants, admin view, and (in ``terminal/``)
the browser terminal. ``janus.web.app.create_app(settings)`` builds the FastAPI application."""
