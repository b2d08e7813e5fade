"""Where webhooks may be sent: http(s) URLs whose host is, and resolves to, public addresses.

Without this check a subscription would let anyone holding an admin key make the server
call into its own network (the database, a cloud metadata service, an admin console).
The check runs when a subscription is saved and again before every attempt, since what a
host name resolves to can change in between.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

RESOLVE_TIMEOUT = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """A webhook URL this service will not send to; the message says why."""


def parse_target(url: str) -> SplitResult:
    """The parts of an http(s) URL with a host; ``TargetRefused`` for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("The URL is not valid.") from exc
    if parts.scheme not in {"http", "https"}:
        raise TargetRefused("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    if port == 0:
        raise TargetRefused("The URL's port is not valid.")
    return parts


def is_public(address: IPAddress) -> bool:
    """True for an address on the public internet; False for loopback, private,
    link-local, shared (carrier-grade NAT), multicast, reserved and unspecified ones,
    including IPv4 addresses written inside IPv6 ones."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host name (or literal) stands for."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise TargetRefused(f"The host {host!r} does not resolve to an address.") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # Drop an IPv6 zone ("fe80::1%eth0"); the address itself decides.
        addresses.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
    if not addresses:
        raise TargetRefused(f"The host {host!r} does not resolve to an address.")
    return addresses


async def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is malformed or that reaches a non-public address (by literal or
    by any address its host name resolves to), unless private targets are allowed."""
    parts = parse_target(url)
    if allow_private:
        return
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in await resolve(host, port):
        if not is_public(address):
            raise TargetRefused(
                f"The host {host!r} is on a non-public address ({address}); webhooks go "
                "to public addresses only (setting NEWSDESK_WEBHOOK_ALLOW_PRIVATE)."
            )
