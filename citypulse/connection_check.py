"""Whether the configured Kafka answers with the configured security, said in one line.

A Kafka client that cannot connect retries for as long as it is allowed: a wrong CA file, or a
plaintext client on a TLS port, shows up as a hang or a timeout minutes later, with the reason
in a debug log at best. So every command that talks to Kafka first connects once itself: a TCP
connection, the TLS handshake when the protocol says TLS, and one Kafka request (ApiVersions),
and turns what goes wrong into one line that names the setting to fix.

SASL is left to the clients: the embedded broker the tests run cannot check a password, and an
untested check would be a guess.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time

from citypulse.settings import Settings

__all__ = ["ConnectionProblem", "check_connection", "tls_context"]

#: an ApiVersions request (key 18, version 0), correlation id 7, client id "citypulse-check"
_CLIENT = b"citypulse-check"
_REQUEST = struct.pack(">hhih", 18, 0, 7, len(_CLIENT)) + _CLIENT
_TLS_RECORD = (0x15, 0x16)  # a TLS alert or handshake record: a TLS server answering


class ConnectionProblem(Exception):
    """The broker cannot be used as configured; the message is one line for the operator."""


def check_connection(settings: Settings, timeout: float = 10.0) -> None:
    """Connect to the first bootstrap broker that answers; raise :class:`ConnectionProblem`
    at once on a security mismatch, or after ``timeout`` if none can be reached (a broker
    still starting is waited for)."""
    deadline = time.monotonic() + timeout
    tls = settings.security_protocol in ("SSL", "SASL_SSL")
    context = tls_context(settings) if tls else None
    unreachable = ""
    while True:
        for server in settings.bootstrap_servers:
            host, _, port = server.rpartition(":")
            try:
                sock = socket.create_connection((host, int(port)), timeout=2.0)
            except OSError as exc:
                unreachable = f"cannot reach the broker at {server} ({exc.strerror or exc})"
                continue
            with sock:
                _talk(sock, host, server, context, deadline)
                return
        if time.monotonic() >= deadline:
            raise ConnectionProblem(f"{unreachable}: check CITYPULSE_BROKER")
        time.sleep(0.5)


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of every client citypulse makes (its CA file, its certificate)."""
    try:
        context = ssl.create_default_context(
            cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConnectionProblem(
            f"cannot read the CA file {settings.ssl_cafile} ({exc}): check CITYPULSE_SSL_CAFILE"
        ) from None
    if settings.ssl_certfile:
        try:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionProblem(
                f"cannot load the client certificate {settings.ssl_certfile} ({exc}): "
                "check CITYPULSE_SSL_CERTFILE and CITYPULSE_SSL_KEYFILE"
            ) from None
    return context


def _talk(
    sock: socket.socket,
    host: str,
    server: str,
    context: ssl.SSLContext | None,
    deadline: float,
) -> None:
    # a TLS client on a plaintext port waits for a handshake answer that never comes
    sock.settimeout(max(1.0, min(5.0, deadline - time.monotonic())))
    stream: socket.socket = sock
    if context is not None:
        try:
            stream = context.wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError as exc:
            raise ConnectionProblem(
                f"the broker at {server} has a certificate this client does not trust "
                f"({exc.verify_message}): check CITYPULSE_SSL_CAFILE"
            ) from None
        except ssl.SSLError as exc:
            if "WRONG_VERSION_NUMBER" in str(exc) or "record layer" in str(exc):
                raise ConnectionProblem(
                    f"the broker at {server} does not speak TLS: check "
                    "CITYPULSE_SECURITY_PROTOCOL (PLAINTEXT or SASL_PLAINTEXT for this port)"
                ) from None
            raise _refused(server, exc) from None
        except (OSError, TimeoutError) as exc:
            raise ConnectionProblem(
                f"the TLS handshake with {server} did not complete ({exc}): check "
                "CITYPULSE_SECURITY_PROTOCOL and CITYPULSE_BROKER"
            ) from None
    try:
        stream.sendall(struct.pack(">i", len(_REQUEST)) + _REQUEST)
        head = _read(stream, 4)
    except ssl.SSLError as exc:  # TLS 1.3: a refused client certificate shows up here
        raise _refused(server, exc) from None
    except (OSError, TimeoutError):
        head = b""
    if context is None and (not head or head[0] in _TLS_RECORD):
        raise ConnectionProblem(
            f"the broker at {server} did not answer a plaintext Kafka request (it may expect "
            "TLS): check CITYPULSE_SECURITY_PROTOCOL (SSL or SASL_SSL)"
        )
    (size,) = struct.unpack(">i", head) if len(head) == 4 else (-1,)
    if not 6 <= size <= 1 << 20:
        raise ConnectionProblem(
            f"the server at {server} does not answer as a Kafka broker: check CITYPULSE_BROKER"
        )


def _refused(server: str, exc: ssl.SSLError) -> ConnectionProblem:
    return ConnectionProblem(
        f"the broker at {server} refused the TLS connection ({exc.reason or exc}): check "
        "CITYPULSE_SSL_CERTFILE and CITYPULSE_SSL_KEYFILE (a client certificate it trusts)"
    )


def _read(stream: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data
