"""API clients per Cluster row: a kubeconfig file, the in-cluster service account, or the default.

Every request of a client goes through its token bucket (ECRCONTROL_KUBE_QPS/_BURST, one bucket
per cluster and process, as client-go's per rest.Config) and is sent again when the API server
asks for it with 429 or 5xx and Retry-After (`ratelimit.send`); watch streams are exempt.
"""

from __future__ import annotations

import functools
import os
import threading

from django.conf import settings
from kubernetes import client, config
from kubernetes.client import rest

from . import ratelimit
from .errors import ConfigError

MSG_NO_FILE = "kubeconfig file {path} does not exist (or is not a file): give its full path."
POOL_SIZE = 32
_lock = threading.Lock()
_clients: dict[tuple, client.ApiClient] = {}


def api_client(kubeconfig_path: str = "", context: str = "", in_cluster: bool = False) -> client.ApiClient:
    """A cached ApiClient. With no kubeconfig path: KUBECONFIG/~/.kube/config, else in-cluster."""
    key = (kubeconfig_path, context, in_cluster)
    with _lock:
        if key not in _clients:
            if kubeconfig_path and not in_cluster and not os.path.isfile(kubeconfig_path):
                message = MSG_NO_FILE.format(path=kubeconfig_path)
                raise ConfigError(0, "ConfigError", message)
            try:
                _clients[key] = _load(kubeconfig_path, context, in_cluster)
            except (config.ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
                where = kubeconfig_path or "the default kubeconfig"
                message = f"cannot load {where} (context {context or 'current'!r}): {exc}"
                raise ConfigError(0, "ConfigError", message) from None
        return _clients[key]


class RateLimitedRESTClient(rest.RESTClientObject):
    """The client's transport, with the bucket in front of each request and Retry-After honoured."""

    def __init__(self, configuration: client.Configuration, limiter: ratelimit.TokenBucket) -> None:
        super().__init__(configuration)
        self.limiter = limiter

    def request(self, method, url, query_params=None, headers=None, *args, **kwargs):
        # A watch is one long-running request: client-go does not rate-limit watches either, and
        # the API server's max-in-flight and APF do not hold its stream against other requests.
        limiter = None if _is_watch(query_params) else self.limiter
        return ratelimit.send(
            lambda: super(RateLimitedRESTClient, self).request(
                method, url, query_params, dict(headers or {}), *args, **kwargs
            ),
            limiter,
            rest.ApiException,
            describe=f"{method} {url.split('?', 1)[0]}",
        )


def _is_watch(query_params) -> bool:
    pairs = query_params.items() if isinstance(query_params, dict) else query_params or ()
    return any(key == "watch" and str(value).lower() == "true" for key, value in pairs)


def _limited(configuration: client.Configuration) -> client.ApiClient:
    api = client.ApiClient(configuration)  # its own transport is replaced before it connects
    bucket = ratelimit.TokenBucket(settings.ECRCONTROL_KUBE_QPS, settings.ECRCONTROL_KUBE_BURST)
    api.rest_client = RateLimitedRESTClient(configuration, bucket)
    return api


def _load(kubeconfig_path: str, context: str, in_cluster: bool) -> client.ApiClient:
    # One client serves every thread of the process: five watches hold a connection each, and the
    # worker threads need theirs. Beyond the pool, each request would pay a new TLS handshake.
    if in_cluster or (not kubeconfig_path and _in_cluster_available()):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        configuration.connection_pool_maxsize = POOL_SIZE
        return _limited(configuration)
    path = kubeconfig_path or os.environ.get("KUBECONFIG") or None  # read now, not at import time
    loaded = config.new_client_from_config(config_file=path, context=context or None)
    loaded.close()  # only its configuration is kept: the pool size is read when a client is made
    loaded.configuration.connection_pool_maxsize = POOL_SIZE
    return _limited(loaded.configuration)


def _in_cluster_available() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG")


def reset() -> None:
    """Forget cached clients (after a kubeconfig changes, and between tests)."""
    with _lock:
        for api in _clients.values():
            api.close()
        _clients.clear()


@functools.cache
def serializer() -> client.ApiClient:
    return client.ApiClient()


def to_dict(obj) -> dict:
    """A client model object as the plain JSON dict the API server sent."""
    return serializer().sanitize_for_serialization(obj)
