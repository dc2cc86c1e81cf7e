"""Secrets out of other libraries' logs: boto3/botocore log request headers at DEBUG (an STS session
token travels in ``X-Amz-Security-Token``). `redact_in_logs(*secrets)` puts a filter on those
libraries' loggers that replaces each secret by ``***``. Records below the loggers' level are never
made, so the filter costs nothing unless DEBUG logging is on."""

from __future__ import annotations

import logging

#: loggers of the AWS stack that may carry a credential in a message
LIBRARY_LOGGERS = ("botocore", "botocore.auth", "botocore.endpoint", "botocore.hooks", "botocore.parsers",
                   "botocore.httpsession", "botocore.retryhandler", "botocore.credentials", "botocore.client",
                   "boto3", "s3transfer", "urllib3", "urllib3.connectionpool", "s3fs", "aiobotocore")


class SecretFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__("shipload-secrets")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hits = [s for s in self.secrets if s in message]
        if hits:
            for secret in hits:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


_filter = SecretFilter()


def redact_in_logs(*secrets: str | None) -> None:
    """Replace these secrets by *** in every log record of the AWS libraries from now on."""
    _filter.secrets.update(s for s in secrets if s and len(s) >= 4)
    names = set(LIBRARY_LOGGERS) | {n for n in logging.root.manager.loggerDict if n.startswith(LIBRARY_LOGGERS)}
    for name in names:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
