"""moto's state dump, `/moto-api/data.json`, for the services asked: `?service=iam&service=sts` dumps only theirs.

moto 5.2.5 dumps every model instance of every service it ever tracked, each attribute tried as JSON; after a test
session's hundreds of DynamoDB tables that took more than 10 s on a loaded machine, and the local SigV4 check, which
reads keys from it (tools/local_sigv4.py), answered 500. Patched point (`install`):
`moto.moto_api._internal.responses.MotoAPIResponse.model_data`; without `service` it dumps everything, as moto."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse


def dump(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """moto's dump of `services` (service -> model name -> model): each instance's public attributes that are JSON."""
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for service in sorted(services):
        results[service] = {}
        for name in sorted(services[service]):
            instances = results[service][name] = []
            for instance in services[service][name].instances_tracked:
                found = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except (TypeError, AttributeError, ValueError):
                        continue
                    found[attr] = value
                instances.append(found)
    return results


def install() -> None:
    from moto.core import model_instances
    from moto.moto_api._internal.responses import MotoAPIResponse

    everything = MotoAPIResponse.model_data

    def model_data(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        wanted = parse_qs(urlparse(full_url).query).get("service")
        if not wanted:
            return everything(self, request, full_url, headers)
        tracked = model_instances.model_data
        chosen = dump({service: tracked[service] for service in wanted if service in tracked})
        return 200, {"Content-Type": "application/javascript"}, json.dumps(chosen)

    MotoAPIResponse.model_data = model_data  # type: ignore[method-assign]
