"""A workspace whose storage is Azure Blob Storage (Azurite here): the same flow, assets in blobs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.local.conftest import mlk
from tests.storage.conftest import azurite  # noqa: F401 - the session's Azurite, shared with the storage tests


def test_deploy_from_blob_storage(home: Path, azurite: str) -> None:  # noqa: F811
    created = json.loads(
        mlk(
            "workspace",
            "create",
            "blobby",
            "--storage-connection-string",
            azurite,
            "--container",
            "assets",
            "-o",
            "json",
        ).stdout
    )
    assert created["storage"].startswith("Azure Blob Storage") or "blob" in created["storage"].lower()
    assert "AccountKey" not in json.dumps(created)
    mlk("online-endpoint", "create", "-f", "endpoint.yml", "-w", "blobby")
    mlk("online-deployment", "create", "-f", "blue.yml", "--all-traffic", "-w", "blobby")
    answer = json.loads(
        mlk(
            "online-endpoint", "invoke", "-o", "tsv", "-n", "test-endpoint", "-r", "request.json", "-w", "blobby"
        ).stdout
    )
    assert answer["model"] == ["model"]
    log = mlk(
        "online-deployment",
        "get-logs",
        "-n",
        "blue",
        "-e",
        "test-endpoint",
        "-c",
        "storage-initializer",
        "-w",
        "blobby",
    ).stdout
    assert "from Azure Blob Storage" in log or "blob" in log.lower()
    again = mlk("model", "create", "-n", "weights", "-p", "model", "-w", "blobby")
    assert "943 bytes" not in again.stderr
    second = mlk("model", "create", "-n", "weights", "-p", "model", "-w", "blobby")
    assert "0 bytes uploaded" in second.stderr
