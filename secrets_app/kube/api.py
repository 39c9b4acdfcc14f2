"""Calls to the Kubernetes API: custom resources, Secrets, Namespaces, Events, webhook configurations.

Dicts in, dicts out.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import uuid
from collections.abc import Callable

import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from . import connection
from .errors import KubeError, Unavailable, from_api_exception
from .kinds import (
    GROUP,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    OWNER_UID_LABEL,
    TOKEN_ISSUED_LABEL,
    TOKEN_SOURCE_LABEL,
    Kind,
)

REQUEST_TIMEOUT = (5, 30)
# Metadata only: a list as a PartialObjectMetadataList, a watch's events as PartialObjectMetadata.
# Each request names exactly one (offered both, the API server answers a watch with an empty body).
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
_QUERY_NAMES = {
    "resource_version": "resourceVersion",
    "allow_watch_bookmarks": "allowWatchBookmarks",
    "timeout_seconds": "timeoutSeconds",
    "label_selector": "labelSelector",
    "field_selector": "fieldSelector",
    "_continue": "continue",
}


def _query_value(value):
    return str(value).lower() if isinstance(value, bool) else value


_WEBHOOK_KINDS = {
    "MutatingWebhookConfiguration": "mutating_webhook_configuration",
    "ValidatingWebhookConfiguration": "validating_webhook_configuration",
}


def _translated(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiException as exc:
            raise from_api_exception(exc) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unavailable(0, "Unavailable", f"API server unreachable: {exc}") from None

    return wrapper


def _json(response) -> dict:
    """The body of a response read with `_preload_content=False`. The JSON as the API server sent
    it: what callers want anyway, and several times cheaper than the client's model classes
    (deserializing and re-serializing a Secret costs about a millisecond of CPU)."""
    return json.loads(response.data)


def _read_or_none(read: Callable, *args) -> dict | None:
    """A core object read as plain JSON, or None when it does not exist."""
    try:
        return _json(read(*args, _request_timeout=REQUEST_TIMEOUT, _preload_content=False))
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


class Kube:
    """One cluster's API. Every method returns plain dicts and raises `KubeError` subclasses."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)

    @classmethod
    def connect(cls, kubeconfig_path: str = "", context: str = "", in_cluster: bool = False) -> Kube:
        return cls(connection.api_client(kubeconfig_path, context, in_cluster))

    # -- custom resources --------------------------------------------------------------------
    def _args(self, kind: Kind) -> tuple[str, str]:
        return GROUP, kind.version

    @_translated
    def get_resource(self, kind: Kind, namespace: str, name: str) -> dict | None:
        try:
            if kind.namespaced:
                return self.custom.get_namespaced_custom_object(
                    *self._args(kind), namespace, kind.plural, name, _request_timeout=REQUEST_TIMEOUT
                )
            return self.custom.get_cluster_custom_object(
                *self._args(kind), kind.plural, name, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    @_translated
    def list_resources(self, kind: Kind, from_cache: bool = False, namespace: str = "") -> dict:
        """All objects of `kind` (in `namespace` only, if given). `from_cache`: the API server's watch
        cache as it is (resourceVersion "0"), possibly a moment stale, instead of a consistent list,
        which waits for the cache to catch up with etcd (about 70 ms right after writes)."""
        options = {"resource_version": "0" if from_cache else None, "_request_timeout": REQUEST_TIMEOUT}
        if namespace:
            return self.custom.list_namespaced_custom_object(
                *self._args(kind), namespace, kind.plural, **options
            )
        return self.custom.list_cluster_custom_object(*self._args(kind), kind.plural, **options)

    @_translated
    def create_resource(self, kind: Kind, body: dict) -> dict:
        if kind.namespaced:
            return self.custom.create_namespaced_custom_object(
                *self._args(kind), body["metadata"]["namespace"], kind.plural, body
            )
        return self.custom.create_cluster_custom_object(*self._args(kind), kind.plural, body)

    @_translated
    def dry_run_create(self, kind: Kind, body: dict) -> dict:
        """Create with dryRun=All: admission (webhooks included) runs, nothing is stored."""
        if kind.namespaced:
            return self.custom.create_namespaced_custom_object(
                *self._args(kind), body["metadata"]["namespace"], kind.plural, body, dry_run="All"
            )
        return self.custom.create_cluster_custom_object(*self._args(kind), kind.plural, body, dry_run="All")

    @_translated
    def replace_resource(self, kind: Kind, body: dict) -> dict:
        """Replace, with body.metadata.resourceVersion: the API server refuses a stale one (409)."""
        meta = body["metadata"]
        if kind.namespaced:
            return self.custom.replace_namespaced_custom_object(
                *self._args(kind), meta["namespace"], kind.plural, meta["name"], body
            )
        return self.custom.replace_cluster_custom_object(*self._args(kind), kind.plural, meta["name"], body)

    @_translated
    def delete_resource(self, kind: Kind, namespace: str, name: str, resource_version: str = "") -> None:
        options = client.V1DeleteOptions(
            preconditions=client.V1Preconditions(resource_version=resource_version or None),
            propagation_policy="Background",
        )
        if kind.namespaced:
            self.custom.delete_namespaced_custom_object(
                *self._args(kind), namespace, kind.plural, name, body=options
            )
        else:
            self.custom.delete_cluster_custom_object(*self._args(kind), kind.plural, name, body=options)

    @_translated
    def patch_status(self, kind: Kind, namespace: str, name: str, status: dict) -> dict:
        body = {"status": status}
        if kind.namespaced:
            return self.custom.patch_namespaced_custom_object_status(
                *self._args(kind), namespace, kind.plural, name, body, _request_timeout=REQUEST_TIMEOUT
            )
        return self.custom.patch_cluster_custom_object_status(
            *self._args(kind), kind.plural, name, body, _request_timeout=REQUEST_TIMEOUT
        )

    # -- secrets -----------------------------------------------------------------------------
    @_translated
    def get_secret(self, namespace: str, name: str) -> dict | None:
        return _read_or_none(self.core.read_namespaced_secret, name, namespace)

    @_translated
    def create_secret(self, namespace: str, body: dict) -> dict:
        return _json(
            self.core.create_namespaced_secret(
                namespace, body, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
            )
        )

    @_translated
    def replace_secret(self, namespace: str, name: str, body: dict) -> dict:
        return _json(
            self.core.replace_namespaced_secret(
                name, namespace, body, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
            )
        )

    @_translated
    def delete_secret(self, namespace: str, name: str, uid: str) -> None:
        options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid))
        try:
            self.core.delete_namespaced_secret(
                name, namespace, body=options, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    @_translated
    def list_secrets_named(self, name: str) -> list[dict]:
        """The Secrets called `name`, in every namespace."""
        found = self.core.list_secret_for_all_namespaces(
            field_selector=f"metadata.name={name}", _request_timeout=REQUEST_TIMEOUT, _preload_content=False
        )
        return _json(found).get("items") or []

    @_translated
    def list_owned_secrets(self, owner_uid: str, namespace: str = "") -> list[dict]:
        """Our Secrets of one owner, in `namespace` only if given (much cheaper than all of them)."""
        selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{OWNER_UID_LABEL}={owner_uid}"
        options = {"label_selector": selector, "_request_timeout": REQUEST_TIMEOUT, "_preload_content": False}
        if namespace:
            found = self.core.list_namespaced_secret(namespace, **options)
        else:
            found = self.core.list_secret_for_all_namespaces(**options)
        return _json(found).get("items") or []

    @_translated
    def list_token_secrets(self, source: str, issued: str = "", limit: int = 10) -> list[dict]:
        """Managed Secrets (any owner) holding a token from the credentials named `source` (and
        issued at `issued`, if given)."""
        selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{TOKEN_SOURCE_LABEL}={source}"
        if issued:
            selector += f",{TOKEN_ISSUED_LABEL}={issued}"
        found = self.core.list_secret_for_all_namespaces(
            label_selector=selector, limit=limit, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
        )
        return _json(found).get("items") or []

    def list_secret_metadata(self, **params):
        """The Secrets of every namespace as metadata only (PartialObjectMetadata, no data), for the
        watch of referenced credentials. `params` as the client's list methods take them
        (`watch`, `resource_version`, ...); the raw response, as with `_preload_content=False`.
        The client's generated methods force their own Accept header, hence this call."""
        query = [
            (_QUERY_NAMES.get(k, k), _query_value(v))
            for k, v in params.items()
            if k in _QUERY_NAMES or not k.startswith("_")
        ]
        return self.api.call_api(
            "/api/v1/secrets",
            "GET",
            query_params=query,
            header_params={"Accept": METADATA_WATCH_ACCEPT if params.get("watch") else METADATA_LIST_ACCEPT},
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=params.get("_request_timeout", REQUEST_TIMEOUT),
        )

    # -- service accounts ------------------------------------------------------------------
    @_translated
    def request_service_account_token(self, namespace: str, name: str, audience: str, seconds: int) -> str:
        """A token of the ServiceAccount for `audience` (the TokenRequest API): its web identity."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": [audience], "expirationSeconds": seconds},
        }
        answer = self.core.create_namespaced_service_account_token(
            name, namespace, body, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
        )
        return _json(answer)["status"]["token"]

    # -- admission webhook configurations ----------------------------------------------------
    @_translated
    def put_webhook_configuration(self, body: dict) -> None:
        """Create or replace a MutatingWebhookConfiguration or ValidatingWebhookConfiguration."""
        api = client.AdmissionregistrationV1Api(self.api)
        kind = _WEBHOOK_KINDS[body["kind"]]
        name = body["metadata"]["name"]
        try:
            current = getattr(api, f"read_{kind}")(name, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise
            getattr(api, f"create_{kind}")(body, _request_timeout=REQUEST_TIMEOUT)
            return
        body = {
            **body,
            "metadata": {**body["metadata"], "resourceVersion": current.metadata.resource_version},
        }
        getattr(api, f"replace_{kind}")(name, body, _request_timeout=REQUEST_TIMEOUT)

    @_translated
    def set_webhook_ca_bundle(self, kind: str, name: str, ca_pem: bytes) -> bool:
        """Put `ca_pem` in every webhook of a configuration the chart created; True if it changed.

        Read-modify-replace with the read resourceVersion (a concurrent edit fails with Conflict)."""
        api = client.AdmissionregistrationV1Api(self.api)
        kind_name = _WEBHOOK_KINDS[kind]
        current = connection.to_dict(
            getattr(api, f"read_{kind_name}")(name, _request_timeout=REQUEST_TIMEOUT)
        )
        bundle = base64.b64encode(ca_pem).decode()
        if all(w["clientConfig"].get("caBundle") == bundle for w in current.get("webhooks", [])):
            return False
        for webhook in current.get("webhooks", []):
            webhook["clientConfig"]["caBundle"] = bundle
        getattr(api, f"replace_{kind_name}")(name, current, _request_timeout=REQUEST_TIMEOUT)
        return True

    @_translated
    def delete_webhook_configuration(self, kind: str, name: str) -> None:
        api = client.AdmissionregistrationV1Api(self.api)
        try:
            getattr(api, f"delete_{_WEBHOOK_KINDS[kind]}")(name, _request_timeout=REQUEST_TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise

    # -- ServiceAccounts (spec.serviceAccounts) ---------------------------------------------
    @_translated
    def list_service_accounts(self, namespace: str) -> list[dict]:
        found = self.core.list_namespaced_service_account(
            namespace, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
        )
        return _json(found).get("items") or []

    @_translated
    def get_service_account(self, namespace: str, name: str) -> dict | None:
        return _read_or_none(self.core.read_namespaced_service_account, name, namespace)

    @_translated
    def patch_service_account(self, namespace: str, name: str, operations: list[dict]) -> dict:
        """A JSON patch (RFC 6902; the client sends a list body as one): its `test` ops make it
        fail (422) if the object moved on since it was read."""
        return _json(
            self.core.patch_namespaced_service_account(
                name, namespace, operations, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
            )
        )

    # -- namespaces and events ---------------------------------------------------------------
    @_translated
    def get_namespace(self, name: str) -> dict | None:
        try:
            return connection.to_dict(self.core.read_namespace(name, _request_timeout=REQUEST_TIMEOUT))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    @_translated
    def list_namespaces(self) -> list[dict]:
        found = self.core.list_namespace(_request_timeout=REQUEST_TIMEOUT, _preload_content=False)
        return _json(found).get("items") or []

    @_translated
    def list_events(self, namespace: str, uid: str, limit: int = 20) -> list[dict]:
        """The Events about the object with `uid` (in `namespace`), newest first."""
        found = self.core.list_namespaced_event(
            namespace, field_selector=f"involvedObject.uid={uid}", _request_timeout=REQUEST_TIMEOUT
        )
        events = [connection.to_dict(e) for e in found.items]
        events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "", reverse=True)
        return events[:limit]

    # -- the cluster itself ------------------------------------------------------------------
    @_translated
    def server_version(self, timeout: float = 5) -> str:
        """The API server's version, e.g. "v1.36.3"."""
        info = client.VersionApi(self.api).get_code(_request_timeout=(timeout, timeout))
        return info.git_version

    @_translated
    def create_event(self, involved: dict, event_type: str, reason: str, message: str) -> None:
        meta = involved["metadata"]
        now = datetime.datetime.now(datetime.UTC)
        namespace = meta.get("namespace") or "default"
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=f"{meta['name']}.{uuid.uuid4().hex[:12]}", namespace=namespace),
            involved_object=client.V1ObjectReference(
                api_version=involved["apiVersion"],
                kind=involved["kind"],
                name=meta["name"],
                namespace=meta.get("namespace"),
                uid=meta["uid"],
                resource_version=meta.get("resourceVersion"),
            ),
            type=event_type,
            reason=reason,
            message=message[:1024],
            source=client.V1EventSource(component=MANAGED_BY),
            reporting_component=MANAGED_BY,
            reporting_instance=MANAGED_BY,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        response = self.core.create_namespaced_event(
            namespace, event, _request_timeout=REQUEST_TIMEOUT, _preload_content=False
        )
        response.data  # noqa: B018 - read it all, so that the connection goes back to the pool


__all__ = ["Kube", "KubeError"]
