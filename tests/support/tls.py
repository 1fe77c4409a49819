"""A Kafka behind TLS for the tests: certificates made with openssl, and stunnel (Debian's
``stunnel4``) terminating mutual TLS in front of the embedded broker, which cannot serve TLS
itself (Tansu 0.6 listens on a plain TCP socket: BROKER-NOTES #10, nisshi-io/nisshi#624).

The broker advertises the terminator's port, so every client, after bootstrapping, connects
through TLS as it would to a secured Kafka; nothing reaches the broker in plaintext from
outside except through the terminator.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from citypulse.broker import EmbeddedBroker, free_port, wait_for_port
from citypulse.lifecycle import Running

__all__ = ["Pki", "TlsBroker", "make_pki"]


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed the broker's and the client's certificates
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed neither (a wrong CITYPULSE_SSL_CAFILE)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(name: str, cwd: Path) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
             cwd=cwd)  # fmt: skip


def _signed(name: str, ca: str, cwd: Path, extensions: str) -> None:
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=cwd)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
             cwd=cwd)  # fmt: skip


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and an
    unrelated CA."""
    directory.mkdir(parents=True, exist_ok=True)
    _ca("ca", directory)
    _ca("other-ca", directory)
    _signed("server", "ca", directory,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")  # fmt: skip
    _signed("client", "ca", directory, "extendedKeyUsage=clientAuth\n")
    d = directory
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem",
               d / "client.key", d / "other-ca.pem")  # fmt: skip


class TlsBroker(Running):
    """The embedded broker behind stunnel: mutual TLS on :attr:`port`, the broker on a port
    of its own that it never advertises."""

    def __init__(self, stunnel: str, pki: Pki, directory: Path) -> None:
        self.stunnel = stunnel
        self.pki = pki
        self.directory = directory
        self.port = free_port()
        self.broker = EmbeddedBroker(log_dir=directory, advertised_port=self.port)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """The settings of a client with the right CA and certificate."""
        return {
            "CITYPULSE_BROKER": self.url,
            "CITYPULSE_SECURITY_PROTOCOL": "SSL",
            "CITYPULSE_SSL_CAFILE": str(self.pki.ca),
            "CITYPULSE_SSL_CERTFILE": str(self.pki.client_cert),
            "CITYPULSE_SSL_KEYFILE": str(self.pki.client_key),
        }

    def start(self) -> TlsBroker:
        self.broker.start()
        config = self.directory / "stunnel.conf"
        config.write_text(
            "foreground = yes\n"
            f"pid =\noutput = {self.directory / 'stunnel.log'}\n"
            "[kafka]\n"
            f"accept = 127.0.0.1:{self.port}\n"
            f"connect = 127.0.0.1:{self.broker.port}\n"
            f"cert = {self.pki.server_cert}\nkey = {self.pki.server_key}\n"
            f"CAfile = {self.pki.ca}\n"
            "verifyChain = yes\nrequireCert = yes\n"
        )
        self._process = subprocess.Popen(
            [self.stunnel, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_port("127.0.0.1", self.port, 15)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None
        self.broker.stop()
