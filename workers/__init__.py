"""Celery: the app and its thin tasks. Imports `aggregator`, never the reverse."""
