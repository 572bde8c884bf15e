"""The one door to Docker (the docker SDK): inspect, build with a live log, tag, push, pull, run containers.

The engine is whatever DOCKER_HOST (or the default socket) points at. Builds use the host's network, the
legacy builder's way of letting a build reach package indexes when the engine has no bridge network.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mlk.errors import ExternalError, NotFoundError
from mlk.images.buildlog import BuildLog
from mlk.images.context import tar_bytes
from mlk.images.dockerfile import BuildContext

Lines = Callable[[list[str]], None]


class BuildFailed(ExternalError):
    """A build that failed: the message names the step, the hint carries its last lines."""


class Engine:
    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def connect(cls) -> Engine:
        import docker
        from docker.errors import DockerException

        try:
            client = docker.from_env(timeout=600)
            client.ping()
        except DockerException as exc:
            raise ExternalError(
                f"cannot reach a Docker engine: {_reason(exc)}",
                hint="start dockerd (or set DOCKER_HOST); `docker info` should answer",
            ) from None
        return cls(client)

    def close(self) -> None:
        self.client.close()

    # --- images ------------------------------------------------------------------------------------------
    def image_id(self, reference: str) -> str | None:
        """The local image's id (sha256:...), or None when it is not here."""
        from docker.errors import ImageNotFound

        try:
            return str(self.client.api.inspect_image(reference)["Id"])
        except ImageNotFound:
            return None

    def pull(self, reference: str, auth: Mapping[str, str] | None = None) -> str:
        from docker.errors import APIError

        repository, tag = split_reference(reference)
        try:
            for _ in self.client.api.pull(repository, tag=tag, stream=True, decode=True, auth_config=auth):
                pass
        except APIError as exc:
            raise NotFoundError(
                f"cannot pull {reference}: {_reason(exc)}",
                hint="the image is not here and the registry did not give it; build or load it (docker load)",
            ) from None
        found = self.image_id(reference)
        if found is None:
            raise NotFoundError(f"cannot pull {reference}", hint="check the image name and the registry")
        return found

    def build(self, context: BuildContext, tag: str, on_lines: Lines | None = None, *, nocache: bool = False) -> str:
        """Build `context` as `tag`; the image id. BuildFailed tells the failing step and its last lines."""
        from docker.errors import APIError

        log = BuildLog()
        try:
            stream = self.client.api.build(
                fileobj=io.BytesIO(tar_bytes(context)),
                custom_context=True,
                tag=tag,
                buildargs=dict(context.buildargs),
                network_mode="host",
                rm=True,
                forcerm=True,
                pull=False,
                nocache=nocache,
                decode=True,
            )
            for message in stream:
                new = log.feed(message)
                if new and on_lines is not None:
                    on_lines(new)
        except APIError as exc:
            log.error = _reason(exc)
        if log.error is not None:
            message, hint = log.failure()
            raise BuildFailed(message, hint=hint)
        found = self.image_id(tag)
        if found is None:
            raise BuildFailed(f"the build of {tag} ended without an image", hint="\n".join(log.lines))
        return found

    def tag(self, image: str, reference: str) -> None:
        repository, tag = split_reference(reference)
        self.client.api.tag(image, repository, tag=tag)

    def remote_digest(self, reference: str, auth: Mapping[str, str] | None = None) -> str | None:
        """The registry's digest for `reference`, or None when the registry does not have it."""
        from docker.errors import APIError, NotFound

        try:
            data = self.client.api.inspect_distribution(reference, auth_config=auth)
        except NotFound:
            return None
        except APIError as exc:
            if exc.status_code in (401, 404) or "manifest unknown" in str(exc).lower():
                return None
            raise ExternalError(f"cannot ask the registry about {reference}: {_reason(exc)}") from None
        return str((data.get("Descriptor") or {}).get("digest") or "") or None

    def push(self, reference: str, auth: Mapping[str, str] | None = None, on_lines: Lines | None = None) -> str:
        """Push `reference`; the digest the registry gave it."""
        repository, tag = split_reference(reference)
        digest = None
        for message in self.client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth):
            if message.get("error"):
                raise ExternalError(
                    f"pushing {reference} failed: {message['error']}",
                    hint="check the registry's address and credentials (mlk workspace update --registry ...)",
                )
            aux = message.get("aux") or {}
            if aux.get("Digest"):
                digest = str(aux["Digest"])
            elif on_lines is not None and message.get("status") and message.get("id"):
                on_lines([f"{message['id']}: {message['status']} {message.get('progress') or ''}".rstrip()])
        if digest is None:
            raise ExternalError(f"the registry did not return a digest for {reference}")
        return digest

    # --- containers --------------------------------------------------------------------------------------
    def run(self, image: str, **options: Any) -> Any:
        """Start a container (detached); options as the SDK's containers.run takes them."""
        from docker.errors import APIError, ImageNotFound

        try:
            return self.client.containers.run(image, detach=True, **options)
        except ImageNotFound:
            raise NotFoundError(f"image {image} is not here", hint="build it: mlk environment build") from None
        except APIError as exc:
            raise ExternalError(f"cannot start a container of {image}: {_reason(exc)}") from None

    def container(self, name: str) -> Any | None:
        from docker.errors import NotFound

        try:
            return self.client.containers.get(name)
        except NotFound:
            return None


@contextmanager
def engine() -> Iterator[Engine]:
    opened = Engine.connect()
    try:
        yield opened
    finally:
        opened.close()


def split_reference(reference: str) -> tuple[str, str | None]:
    """`registry:5000/repo/name:tag` → ("registry:5000/repo/name", "tag"); a digest stays in the name."""
    if "@" in reference:
        return reference, None
    head, _, last = reference.rpartition("/")
    if ":" in last:
        name, _, tag = last.partition(":")
        return (f"{head}/{name}" if head else name), tag
    return reference, "latest"


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()
