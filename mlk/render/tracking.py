"""The cluster's MLflow tracking server (enableTraining): MLflow's own `mlflow server`, as on this machine.

    PersistentVolumeClaim mlk-tracking     SQLite (runs, metrics, the auth app's users) and the artifacts
    Deployment mlk-tracking                one replica (Recreate: SQLite has one writer), port 5000
    Service mlk-tracking                   ClusterIP, port 5000
    Secret mlk-tracking-auth               made at install, never rendered (`auth_secret_data`): the
                                           admin's user and password, the Flask secret and auth.ini

The server runs MLflow's basic-auth app with no permission by default: any pod of the cluster reaches the
Service, so every call needs the credentials. The operator hands each job a Secret of its own with them
(in the job's namespace), creates the job's run, copies the run's latest metrics into the AmlJob's status
(so `mlk job show` needs no route to the server) and ends the run with the job. Artifacts are proxied by
the server (`mlflow-artifacts:/`): training pods need no storage credentials to log a model.

Its image (trackingImage) holds MLflow with its auth extra, nothing of mlk:
`mlk extension build-image` builds it next to mlk's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlk.render import names
from mlk.render.objects import POD_SECURITY, TMP_VOLUME, container_security, meta, tmp_mount
from mlk.render.options import ExtensionOptions

MLFLOW_SERVER = "mlflow[auth]>=3.1,<4"
"""The tracking server's requirement, here and in the cluster (the image `mlk extension build-image` makes)."""
PORT = 5000
DATA = "/var/lib/mlflow"
AUTH_DIR = "/etc/mlk/tracking"
AUTH_USER = "mlk"
SECRET_KEYS = ("username", "password", "flask-secret", "auth.ini")
"""The keys of the tracking Secret (names.TRACKING_SECRET)."""
USERNAME_KEY, PASSWORD_KEY = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"
"""The keys of a job's own credentials Secret: the variables MLflow's client reads."""
_DATA_VOLUME, _AUTH_VOLUME = "data", "auth"


def auth_config(username: str, password: str) -> str:
    """MLflow's basic-auth config (MLFLOW_AUTH_CONFIG_PATH): no permission unless granted, the admin."""
    return (
        "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{DATA}/auth.db\n"
        f"admin_username = {username}\nadmin_password = {password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


def auth_secret_data(password: str, flask_secret: str) -> dict[str, str]:
    """The tracking Secret's stringData, for the installer to create once (a new password each install
    would lock out the server's own admin, whose password the auth database keeps from its first start)."""
    return {
        "username": AUTH_USER,
        "password": password,
        "flask-secret": flask_secret,
        "auth.ini": auth_config(AUTH_USER, password),
    }


def credentials_env(secret: str | None) -> list[dict[str, Any]]:
    """A job container's MLflow credentials, from the job's Secret (none without tracking)."""
    if not secret:
        return []
    keys = (USERNAME_KEY, PASSWORD_KEY)
    return [{"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}} for k in keys]


def run_env(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Where a job's run is (the uploader fetches what it logged): the server and the run's id."""
    found = {"MLFLOW_TRACKING_URI": job.get("tracking_uri"), "MLFLOW_RUN_ID": job.get("run_id")}
    return [{"name": k, "value": str(v)} for k, v in found.items() if v]


def _labels() -> dict[str, str]:
    return {**names.base_labels("tracking"), names.LABEL_NAME: names.TRACKING}


def tracking_claim(options: ExtensionOptions) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": options.tracking_storage_size}},
    }
    if options.tracking_storage_class:
        spec["storageClassName"] = options.tracking_storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(names.TRACKING, options.namespace, labels=_labels()),
        "spec": spec,
    }


def tracking_deployment(options: ExtensionOptions) -> dict[str, Any]:
    command = [
        *("mlflow", "server", "--app-name", "basic-auth", "--host", "0.0.0.0", "--port", str(PORT)),
        *("--workers", "1", "--backend-store-uri", f"sqlite:///{DATA}/mlflow.db"),
        *("--artifacts-destination", f"{DATA}/artifacts"),
        # the Service's DNS name and its ClusterIP both reach it: MLflow's host check must not refuse them
        *("--allowed-hosts", "*"),
    ]
    secret_key = {"secretKeyRef": {"name": names.TRACKING_SECRET, "key": "flask-secret"}}
    probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 3}
    container = {
        "name": "mlflow",
        "image": options.tracking_image,
        "command": command,
        "env": [
            {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": f"{AUTH_DIR}/auth.ini"},
            {"name": "MLFLOW_FLASK_SERVER_SECRET_KEY", "valueFrom": secret_key},
            {"name": "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "value": "false"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 60, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": container_security(read_only_root=True),
        "volumeMounts": [
            tmp_mount(),
            {"name": _DATA_VOLUME, "mountPath": DATA},
            {"name": _AUTH_VOLUME, "mountPath": AUTH_DIR, "readOnly": True},
        ],
    }
    pod: dict[str, Any] = {
        "securityContext": POD_SECURITY,
        "automountServiceAccountToken": False,
        "containers": [container],
        "volumes": [
            {"name": TMP_VOLUME, "emptyDir": {}},
            {"name": _DATA_VOLUME, "persistentVolumeClaim": {"claimName": names.TRACKING}},
            {
                "name": _AUTH_VOLUME,
                "secret": {"secretName": names.TRACKING_SECRET, "items": [{"key": "auth.ini", "path": "auth.ini"}]},
            },
        ],
    }
    if options.node_selector:
        pod["nodeSelector"] = dict(sorted(options.node_selector.items()))
    selector = {names.LABEL_NAME: names.TRACKING}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(names.TRACKING, options.namespace, labels=_labels()),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": _labels()}, "spec": pod},
        },
    }


def tracking_service(options: ExtensionOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(names.TRACKING, options.namespace, labels=_labels()),
        "spec": {
            "type": "ClusterIP",
            "selector": {names.LABEL_NAME: names.TRACKING},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def tracking_objects(options: ExtensionOptions) -> list[dict[str, Any]]:
    """The server's objects, in apply order (its Secret comes first, from the installer)."""
    return [tracking_claim(options), tracking_deployment(options), tracking_service(options)]
