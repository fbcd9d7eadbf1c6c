"""Internals of :mod:`celery.canvas`: one module per workflow primitive.

Import the public names from :mod:`celery.canvas`, not from here.
"""
