"""Programs: the worker, beat and multi applications started by the CLI."""
