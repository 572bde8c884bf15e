"""Where workspaces live: $MLK_HOME (default ~/.mlk), one folder per workspace, `default` unless -w NAME.

$MLK_HOME/config.json                 the current workspace
$MLK_HOME/config                      az's INI settings: [defaults] workspace/group, [core] output… (0600)
$MLK_HOME/envs/<identity>/            virtual environments, shared by all workspaces (content-addressed)
$MLK_HOME/workspaces/<name>/
    workspace.json                    storage, default compute, the router's port
    state.json  assets.json           endpoints and deployments; models, code, environments
    keys/<endpoint>.json              endpoint keys (0600)
    storage/                          the local store (when storage is local)
    cache/                            downloaded blobs, the file-hash cache
    runtime/                          the agent: status, logs, materialised models and code

Only its user can read any of it: $MLK_HOME and every folder mlk makes are 0700, every file 0600
(mlk.workspace.files), and a home an older mlk made with looser modes is closed (0700) when a workspace
is opened.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlk.errors import NotFoundError, UsageError
from mlk.workspace.files import private_dir, read_json, tighten, write_json

NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9_]{0,62}$")
FIRST_ROUTER_PORT = 8765
DEFAULT_WORKSPACE = "default"
"""The workspace of a machine nobody set up: made on first use, so that the embedded default needs no setup.
Any other name must be created first (az ml answers an unknown -w with 'not found')."""
LOCAL_LOCATION = "local"
"""The location of a workspace created without -l/--location (az's is an Azure region; mlk only records it)."""


def home() -> Path:
    return Path(os.environ.get("MLK_HOME") or Path.home() / ".mlk").expanduser()


def private_home(*, create: bool = True) -> Path:
    """$MLK_HOME, closed to group and others when it exists with looser modes (an older mlk's), else
    created 0700 (unless `create` is False)."""
    root = home()
    if root.is_dir():
        tighten(root)
    elif create:
        private_dir(root)
    return root


def config_file() -> Path:
    """The INI file `mlk configure` writes, laid out as az keeps $AZURE_CONFIG_DIR/config."""
    return home() / "config"


def configured(section: str, option: str) -> str | None:
    """A setting read as az reads its own: $AZURE_<SECTION>_<OPTION> when set (even empty), else the config
    file's [section] option, else None."""
    variable = f"AZURE_{section.upper()}_{option.upper()}"
    if variable in os.environ:
        return os.environ[variable]
    if not config_file().is_file():  # the usual case: no import, no parse on every command
        return None
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config_file(), encoding="utf-8")
    except configparser.Error as exc:
        raise UsageError(f"{config_file()} is not an INI file: {exc}", hint="fix or remove it") from None
    return parser.get(section, option, fallback=None)


def current_name(explicit: str | None = None) -> str:
    """-w/--workspace, else $MLK_WORKSPACE, else the configured default (az ml's -w falls back to
    `az configure --defaults workspace=NAME`), else the current workspace (`workspace create --use`)."""
    if explicit:
        return explicit
    if os.environ.get("MLK_WORKSPACE"):
        return os.environ["MLK_WORKSPACE"]
    default = configured("defaults", "workspace")
    if default:  # az ignores a default set to '' (that is how `--defaults workspace=''` clears it)
        return default
    return str(read_json(home() / "config.json", {}).get("workspace", DEFAULT_WORKSPACE))


def _free_port(start: int, taken: set[int]) -> int:
    for port in range(start, start + 500):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise UsageError("no free port for the workspace's router", hint="set one with mlk workspace create --router-port")


@dataclass
class Workspace:
    name: str
    root: Path
    config: dict[str, Any] = field(default_factory=dict)

    # --- paths ------------------------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def assets_file(self) -> Path:
        return self.root / "assets.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "lock"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def runtime(self) -> Path:
        return self.root / "runtime"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def envs(self) -> Path:
        return home() / "envs"

    @property
    def router_port(self) -> int:
        return int(self.config["router_port"])

    @property
    def location(self) -> str:
        return str(self.config.get("location", LOCAL_LOCATION))

    @property
    def default_compute(self) -> str:
        return str(self.config.get("default_compute", "local"))

    def storage_config(self) -> Any:
        from mlk.storage.config import StorageConfig

        storage = dict(self.config.get("storage") or {"type": "local"})
        if storage.get("type", "local") == "local" and not storage.get("path"):
            storage["path"] = str(self.root / "storage")
        return StorageConfig(**storage)

    def store(self) -> Any:
        from mlk.storage import open_store

        return open_store(self.storage_config())

    def save(self) -> None:
        write_json(self.root / "workspace.json", self.config)  # may hold a storage key


def workspaces() -> list[str]:
    folder = home() / "workspaces"
    return sorted(p.name for p in folder.iterdir() if (p / "workspace.json").is_file()) if folder.is_dir() else []


def open_workspace(name: str | None = None, *, create: bool = True) -> Workspace:
    """The named (or current) workspace; `default` is created on first use, another name must exist."""
    chosen = current_name(name)
    if not NAME.match(chosen):
        raise UsageError(f"'{chosen}' is not a workspace name", hint="letters, digits, '-' and '_'")
    root = private_home(create=False) / "workspaces" / chosen
    config = read_json(root / "workspace.json", None)
    if config is None:
        if not create or chosen != DEFAULT_WORKSPACE:
            raise NotFoundError(
                f"workspace '{chosen}' does not exist",
                hint=f"mlk workspace create {chosen}, or pick one of: {', '.join(workspaces()) or 'none'}",
            )
        return create_workspace(chosen)
    return Workspace(chosen, root, config)


def create_workspace(
    name: str,
    *,
    storage: dict[str, Any] | None = None,
    router_port: int | None = None,
    location: str | None = None,
) -> Workspace:
    """A new workspace, or the one of that name as az's create-or-update leaves it: a second create is fine,
    and may move its local router, but neither its storage (its assets live there) nor its location can
    change, as Azure refuses to move a workspace."""
    if not NAME.match(name):
        raise UsageError(f"'{name}' is not a workspace name", hint="letters, digits, '-' and '_'")
    root = private_home() / "workspaces" / name
    existing = read_json(root / "workspace.json", None)
    if existing is not None:
        workspace = Workspace(name, root, existing)
        kept = {"storage": (storage, existing.get("storage")), "location": (location, workspace.location)}
        for field, (asked, has) in kept.items():
            if asked is not None and asked != has:
                from mlk.errors import ConflictError

                raise ConflictError(
                    f"workspace '{name}' already exists with another {field}; a workspace's {field} cannot change",
                    hint=f"create another workspace, or see this one: mlk workspace show -n {name}",
                )
        if router_port is not None and router_port != workspace.router_port:
            workspace.config["router_port"] = router_port
            workspace.save()
        return workspace
    taken = {
        int(read_json(home() / "workspaces" / other / "workspace.json", {}).get("router_port", 0))
        for other in workspaces()
    }
    config = {
        "name": name,
        "storage": storage or {"type": "local"},
        "default_compute": "local",
        "router_port": router_port or _free_port(FIRST_ROUTER_PORT, taken),
        "location": location or LOCAL_LOCATION,
    }
    private_dir(root)
    workspace = Workspace(name, root, config)
    workspace.save()
    return workspace
