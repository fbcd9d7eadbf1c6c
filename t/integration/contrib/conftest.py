"""Fixtures for the testing-API tests: the plugin is loaded by t/conftest.py."""
