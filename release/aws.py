"""boto3 clients for the stack's account and region, as the stack file configures the provider.

The release command reads target health, the WebSockets metric, logs and tasks of the stack it
releases, so its clients use the stack's `aws:region` (and, for the local stack, the emulator's
endpoints and the fake credentials the provider is given) instead of whatever the shell defaults to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AwsClients:
    """Creates boto3 clients from a stack file's `aws:*` provider config; one client per service."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.region: str | None = config.get("aws:region")
        # Only plain keys (the local stack's fake ones); an encrypted `secure:` value is not ours
        # to read, and real accounts use the usual credential chain.
        access_key, secret_key = config.get("aws:accessKey"), config.get("aws:secretKey")
        plain = isinstance(access_key, str) and isinstance(secret_key, str)
        self._access_key = access_key if plain else None
        self._secret_key = secret_key if plain else None
        endpoints: dict[str, str] = {}
        for entry in config.get("aws:endpoints") or []:
            if isinstance(entry, Mapping):
                endpoints.update({str(k): str(v) for k, v in entry.items()})
        self._endpoints = endpoints
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            kwargs: dict[str, Any] = {}
            if self.region:
                kwargs["region_name"] = self.region
            if self._access_key and self._secret_key:
                kwargs["aws_access_key_id"] = self._access_key
                kwargs["aws_secret_access_key"] = self._secret_key
            if service in self._endpoints:
                kwargs["endpoint_url"] = self._endpoints[service]
            self._clients[service] = boto3.session.Session().client(service, **kwargs)
        return self._clients[service]
