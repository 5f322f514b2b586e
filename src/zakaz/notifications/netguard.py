"""Calls to addresses users give us (webhook URLs, browsers' push endpoints) stay on the public internet.

An admin registering ``http://169.254.169.254/...`` or ``http://127.0.0.1:5432/`` as a webhook, or a shopper
registering a push endpoint on the private network, would otherwise make the server call inside its own
network (and the delivery log would tell what answered). The host is resolved and every address must be
global; checked when the address is registered and again before each call (a name may resolve elsewhere
later). ``ZAKAZ_ALLOW_PRIVATE_DESTINATIONS=true`` lifts it for closed networks and tests.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def destination_problem(url: str) -> str | None:
    """Why ``url`` must not be called, or None when every address of its host is a public one."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "an http(s) URL with a host is needed"
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        return f"the host {host} does not resolve"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return f"{host} is a private, loopback or link-local address ({address})"
    return None
