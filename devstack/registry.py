"""A local container registry that stands in for an ECR registry host on the test node.

It serves the pull half of the OCI distribution API (`/v2/`, manifests and blobs by tag or digest,
GET and HEAD) over HTTPS, on a free loopback port, with a certificate from its own throwaway CA.
Like ECR's registry it wants HTTP Basic auth: username `AWS` and a password that the local ECR
front answered in a GetAuthorizationToken and that has not expired (`LocalECR.accepts`). Anything
else, a missing credential included, gets 401 with `WWW-Authenticate: Basic realm=...` and ECR's
`no basic auth credentials` / `authorization failed` messages, so a pod without a valid pull Secret
really fails to pull.

Images come from `docker save` archives: their config and layers, served with a Docker image
manifest (schema 2) and gzip layers, as ECR serves an image pushed by docker. Every request is
recorded (`requests`: method, path, status, whether its credentials were accepted) for the tests.

How the node reaches it as `<account>.dkr.ecr.<region>.amazonaws.com`: see `Node.serve_registry`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import gzip
import hashlib
import http.server
import json
import re
import shutil
import ssl
import tarfile
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from .certs import CertificateAuthority
from .processes import Component

REALM = "ecrcontrol-local-registry"
API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# ECR's registry says these (its 401 bodies), which containerd puts in the pod's pull error.
MSG_NO_CREDENTIALS = "no basic auth credentials"
MSG_DENIED = "authorization failed: the password is not an ECR token this registry accepts, or it expired"

_PATH = re.compile(r"^/v2/(?P<name>.+)/(?P<kind>manifests|blobs)/(?P<reference>[^/]+)$")


class RegistryError(RuntimeError):
    """An image could not be loaded into the registry."""


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int
    authenticated: bool  # carried credentials the registry accepted


@dataclasses.dataclass
class Repository:
    tags: dict[str, str] = dataclasses.field(default_factory=dict)  # tag -> manifest digest
    blobs: dict[str, tuple[str, bytes]] = dataclasses.field(default_factory=dict)  # digest -> (type, body)


class LocalRegistry(Component):
    """`with LocalRegistry(authorize) as registry:` an HTTPS registry on 127.0.0.1.

    `authorize(username, password)` decides whose Basic credentials get in (`LocalECR.accepts`).
    """

    def __init__(self, authorize: Callable[[str, str], bool]) -> None:
        self.authorize = authorize
        self.workdir = Path(tempfile.mkdtemp(prefix="ecrcontrol-registry-"))
        self.ca = CertificateAuthority("ecrcontrol-local-registry-ca")
        self.ca_file = self.workdir / "ca.crt"
        self.repositories: dict[str, Repository] = {}
        self.requests: list[Request] = []
        self.server: http.server.ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        """host:port, as a client names it."""
        assert self.server, "the registry is not started"
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    # -- images --------------------------------------------------------------------------------
    def add_docker_save(self, archive: Path, name: str, tag: str) -> str:
        """Serve the first image of a `docker save` archive as `name:tag`, with gzip layers as ECR
        serves them; returns its manifest digest."""
        with tarfile.open(archive) as tar:

            def member(path: str) -> bytes:
                extracted = tar.extractfile(path)
                if extracted is None:
                    raise RegistryError(f"{archive} has no file {path}: is it a docker save archive?")
                return extracted.read()

            # manifest.json: written by every docker save (the legacy layout and the OCI one of
            # Docker 25 and later both have it), naming the image's config and layer tarballs.
            image = json.loads(member("manifest.json"))[0]
            config = member(image["Config"])
            layers = [member(path) for path in image["Layers"]]
        blobs = {CONFIG_TYPE: [config], LAYER_TYPE: [_gzip(layer) for layer in layers]}
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": _descriptor(CONFIG_TYPE, config),
            "layers": [_descriptor(LAYER_TYPE, layer) for layer in blobs[LAYER_TYPE]],
        }
        body = json.dumps(manifest, indent=3).encode()
        repository = self.repositories.setdefault(name, Repository())
        for media_type, contents in blobs.items():
            for content in contents:
                repository.blobs[_digest(content)] = (media_type, content)
        digest = _digest(body)
        repository.blobs[digest] = (MANIFEST_TYPE, body)
        repository.tags[tag] = digest
        return digest

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self.ca_file.write_bytes(self.ca.cert_pem)
        cert, key = self.ca.issue("ecrcontrol-local-registry", hosts=("127.0.0.1",), server=True).write(
            self.workdir, "registry"
        )
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                registry._handle(self, body=True)

            def do_HEAD(self) -> None:
                registry._handle(self, body=False)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, name="local-registry", daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- one request ---------------------------------------------------------------------------
    def _credentials(self, handler) -> tuple[str, str] | None:
        scheme, _, value = handler.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        return username, password

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, body: bool) -> None:
        path = handler.path.split("?", 1)[0]
        credentials = self._credentials(handler)
        accepted = credentials is not None and self.authorize(*credentials)
        if not accepted:
            message = MSG_NO_CREDENTIALS if credentials is None else MSG_DENIED
            status, content_type, payload = 401, "application/json", _errors("UNAUTHORIZED", message)
            headers = {"WWW-Authenticate": f'Basic realm="{REALM}"'}
        elif path in ("/v2", "/v2/"):
            status, content_type, payload, headers = 200, "application/json", b"{}", {}
        else:
            status, content_type, payload, headers = self._content(path)
        with self._lock:
            self.requests.append(Request(handler.command, path, status, accepted))
        handler.send_response(status)
        handler.send_header(*API_VERSION_HEADER)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if body:
            handler.wfile.write(payload)

    def _content(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        match = _PATH.match(path)
        repository = self.repositories.get(match["name"]) if match else None
        if not match or repository is None:
            return 404, "application/json", _errors("NAME_UNKNOWN", "repository not found"), {}
        reference = match["reference"]
        digest = repository.tags.get(reference, reference)
        found = repository.blobs.get(digest)
        if match["kind"] == "manifests" and (found is None or found[0] != MANIFEST_TYPE):
            return 404, "application/json", _errors("MANIFEST_UNKNOWN", f"manifest {reference} unknown"), {}
        if found is None:
            return 404, "application/json", _errors("BLOB_UNKNOWN", f"blob {reference} unknown"), {}
        return 200, found[0], found[1], {"Docker-Content-Digest": digest}


def _digest(content: bytes) -> str:
    return f"sha256:{hashlib.sha256(content).hexdigest()}"


def _descriptor(media_type: str, content: bytes) -> dict:
    return {"mediaType": media_type, "size": len(content), "digest": _digest(content)}


def _gzip(layer: bytes) -> bytes:
    if layer[:2] == b"\x1f\x8b":  # already compressed
        return layer
    return gzip.compress(layer, mtime=0)


def _errors(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()
