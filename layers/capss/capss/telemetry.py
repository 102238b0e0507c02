"""Powertools logger and metrics shared by the library; handlers own the entry decorators."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = "capss-bridge"

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CapssBridge"))

FILE_KEYS = ("file", "license", "submission")


def about(**keys: object) -> None:
    """Names the file this thread works on in its log lines, replacing the previous file's keys.

    Kept per thread, not on the shared logger: the local stack runs handlers side by side in
    threads, and a shared key would put one file's name on another's lines.
    """
    logger.thread_safe_remove_keys(FILE_KEYS)
    logger.thread_safe_append_keys(**keys)
