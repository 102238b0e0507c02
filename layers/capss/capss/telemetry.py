"""Powertools logger and metrics shared by the library; handlers own the entry decorators."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = "capss-bridge"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CapssBridge"))
