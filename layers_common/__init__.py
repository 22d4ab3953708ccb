"""Shared Lambda layer of the leased-accounts service: domain, ports, repository and services."""
