"""The service's Powertools Logger (JSON lines; the API key id may be logged, never the key)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="leasing")
