"""What the handlers in functions/ import: one call each, plus the Powertools instances."""

from capss._runtime import finish_file, reset, status_check, submit_batch
from capss._telemetry import logger, metrics

__all__ = ["finish_file", "logger", "metrics", "reset", "status_check", "submit_batch"]
