"""Result backends: where task states and return values are kept."""
