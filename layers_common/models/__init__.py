"""Pydantic models: request bodies, response views and domain events."""
