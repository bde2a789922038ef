"""Running the platform in production: request ids, structured logs, health checks and metrics.

Kept free of Django imports at package level: settings and the gunicorn configuration import
small pieces of it before the apps are loaded."""
