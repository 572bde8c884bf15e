"""GET /swagger.json?version=2|3|3.1: OpenAPI documents for the scoring service.

Input and output schemas come from inference-schema's decorators, as in azmlinfsrv; undecorated scripts
get open objects. A `swagger.json`/`swagger2.json`, `swagger3.json` or `swagger3.1.json` in AML_APP_ROOT
replaces the generated document for its version. Documents are built once, at start-up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlk.server.script import RunMode, ScoreScript

VERSIONS = ("2", "3", "3.1")
ALIASES = {"2": "2", "2.0": "2", "3": "3", "3.0": "3", "3.1": "3.1"}
_INFERENCE_SCHEMA_NAMES = {"2": "2.0", "3": "3.0", "3.1": "3.1"}
_USER_FILES = {"2": ("swagger.json", "swagger2.json"), "3": ("swagger3.json",), "3.1": ("swagger3.1.json",)}
_OPEN = {"type": "object", "example": {}}
_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}


class SwaggerError(Exception):
    """Answered with 404 and this message."""


def _schemas(script: ScoreScript) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    if script.mode is not RunMode.SCHEMA:
        return _OPEN, _OPEN, list(VERSIONS)
    from inference_schema.schema_util import get_input_schema, get_output_schema, get_supported_versions

    supported = set(get_supported_versions(script.run))
    versions = [v for v in VERSIONS if _INFERENCE_SCHEMA_NAMES[v] in supported or v in supported]
    return get_input_schema(script.run), get_output_schema(script.run), versions


def _document(version: str, service_input: Any, service_output: Any) -> dict[str, Any]:
    name = os.environ.get("SERVICE_NAME", "ML service")
    prefix = os.environ.get("SERVICE_PATH_PREFIX", "")
    prefix = f"/{prefix.strip('/')}" if prefix.strip("/") else ""
    info = {"title": name, "description": f"Scoring API of {name}", "version": os.environ.get("SERVICE_VERSION", "1.0")}
    bearer = {"type": "apiKey", "name": "Authorization", "in": "header", "description": "Bearer <key or token>"}
    ref = "#/definitions/" if version == "2" else "#/components/schemas/"

    def body(schema: str) -> dict[str, Any]:
        if version == "2":
            return {"schema": {"$ref": ref + schema}}
        return {"content": {"application/json": {"schema": {"$ref": ref + schema}}}}

    failed = {"description": "Scoring failed", **body("ErrorResponse")}
    health = {
        "get": {
            "operationId": "ServiceHealthCheck",
            "description": "Liveness: 'Healthy' once init() has run",
            "responses": {"200": {"description": "Healthy"}, "default": failed},
        }
    }
    score: dict[str, Any] = {
        "operationId": "RunMLService",
        "description": "Score the input with run()",
        "security": [{"Bearer": []}],
        "responses": {"200": {"description": "run()'s output", **body("ServiceOutput")}, "default": failed},
    }
    swagger_path = {
        "get": {
            "operationId": "GetSwaggerSpec",
            "description": "This document",
            "responses": {"200": {"description": "The OpenAPI document"}, "default": failed},
        }
    }
    if version == "2":
        score["parameters"] = [
            {
                "name": "serviceInputPayload",
                "in": "body",
                "description": "run()'s input",
                "schema": {"$ref": ref + "ServiceInput"},
            }
        ]
        return {
            "swagger": "2.0",
            "info": info,
            "schemes": ["https"],
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "securityDefinitions": {"Bearer": bearer},
            "paths": {f"{prefix}/": health, f"{prefix}/score": {"post": score}, f"{prefix}/swagger.json": swagger_path},
            "definitions": {"ServiceInput": service_input, "ServiceOutput": service_output, "ErrorResponse": _ERROR},
        }
    score["requestBody"] = {"description": "run()'s input", **body("ServiceInput")}
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.3",
        "info": info,
        "security": [{"Bearer": []}],
        "paths": {f"{prefix}/": health, f"{prefix}/score": {"post": score}, f"{prefix}/swagger.json": swagger_path},
        "components": {
            "schemas": {"ServiceInput": service_input, "ServiceOutput": service_output, "ErrorResponse": _ERROR},
            "securitySchemes": {"Bearer": bearer},
        },
    }


class Swagger:
    def __init__(self, script: ScoreScript, app_root: Path) -> None:
        service_input, service_output, self.versions = _schemas(script)
        self.bodies: dict[str, bytes] = {}
        for version in VERSIONS:
            user = next((app_root / f for f in _USER_FILES[version] if (app_root / f).is_file()), None)
            if user is not None:  # invalid JSON here stops the server, as in azmlinfsrv
                self.bodies[version] = json.dumps(json.loads(user.read_text(encoding="utf-8"))).encode()
            elif version in self.versions:
                self.bodies[version] = json.dumps(_document(version, service_input, service_output)).encode()

    def _listed(self) -> str:
        return "[" + ", ".join(v for v in VERSIONS if v in self.bodies) + "]"

    def body(self, requested: str | None) -> bytes:
        asked = "2" if requested is None else requested
        version = ALIASES.get(asked)
        if version is None:
            raise SwaggerError(f"Swagger version [{asked}] is not valid. Supported versions: {self._listed()}.")
        if version not in self.bodies:
            raise SwaggerError(
                f"Swagger version [{asked}] is not supported for the scoring script. "
                f"Supported swagger versions: {self._listed()}."
            )
        return self.bodies[version]
