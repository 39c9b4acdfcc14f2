"""Prometheus metrics and health: metric definitions, collectors that read the database, and the
small HTTP server the controller and worker roles expose them on."""
