"""API clients per Cluster row: a kubeconfig file, the in-cluster service account, or the default."""

from __future__ import annotations

import functools
import os
import threading

from kubernetes import client, config

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


def _load(kubeconfig_path: str, context: str, in_cluster: bool) -> client.ApiClient:
    # One client serves every thread of the process: five watches hold a connection each, and the
    # worker threads need theirs. Beyond the pool, each request would pay a new TLS handshake.
    if in_cluster or (not kubeconfig_path and _in_cluster_available()):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        configuration.connection_pool_maxsize = POOL_SIZE
        return client.ApiClient(configuration)
    path = kubeconfig_path or os.environ.get("KUBECONFIG") or None  # read now, not at import time
    loaded = config.new_client_from_config(config_file=path, context=context or None)
    loaded.close()  # only its configuration is kept: the pool size is read when a client is made
    loaded.configuration.connection_pool_maxsize = POOL_SIZE
    return client.ApiClient(loaded.configuration)


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
