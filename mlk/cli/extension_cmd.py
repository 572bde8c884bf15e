"""`mlk extension`: az k8s-extension's --config settings, applied by mlk to the cluster you point it at.

Accepted for muscle memory and ignored: --name, --extension-type, --cluster-name,
--cluster-type, --scope, and -g/--resource-group as on every command (mlk installs into the cluster of
--kube-context/--kubeconfig).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mlk.cli.console import console
from mlk.cli.options import Yes, command

app = typer.Typer(no_args_is_help=True)
Config = Annotated[
    list[str] | None,
    typer.Option(
        "--config",
        "--configuration-settings",
        metavar="KEY=VALUE",
        help="Settings, as az k8s-extension takes them (several allowed).",
    ),
]
Protected = Annotated[
    list[str] | None,
    typer.Option(
        "--config-protected",
        "--configuration-protected-settings",
        metavar="KEY=VALUE",
        help="Protected settings (sslCertPemFile, sslKeyPemFile).",
    ),
]
Namespace = Annotated[str, typer.Option("--namespace", help="Namespace of mlk's own components.")]
Context = Annotated[str | None, typer.Option("--kube-context", help="kubeconfig context (as kubectl).")]
Kubeconfig = Annotated[Path | None, typer.Option("--kubeconfig", help="kubeconfig file (default $KUBECONFIG).")]
Image = Annotated[str | None, typer.Option("--system-image", help="mlk's image (operator, router, initializer).")]
Ignored = Annotated[str | None, typer.Option(hidden=True)]
COLUMNS = ["component", "kind", "ready"]


def parse_settings(pairs: list[str], protected: list[str]) -> tuple[dict[str, Any], list[str]]:
    """KEY=VALUE pairs → settings (validated like a file), and the keys the user gave. Duplicates are errors."""
    import yaml

    from mlk.errors import UsageError
    from mlk.specs import load_document
    from mlk.specs.kinds import kind_named
    from mlk.specs.yamlpos import parse_text

    raw: dict[str, str] = {}
    for pair in [*pairs, *protected]:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--config '{pair}': expected KEY=VALUE")
        if key in raw:
            raise UsageError(f"--config: '{key}' is given twice", hint="give each setting once")
        raw[key.strip()] = value.strip()
    doc = parse_text(yaml.safe_dump(raw), "<--config>")
    spec = load_document(doc, Path.cwd(), kind=kind_named("extension-config"))
    for warning in spec.warnings:
        console.problem(warning.render(), warning=True)
    return dict(spec.data), list(raw)


def _options(settings: dict[str, Any], given: list[str], namespace: str, image: str | None, cluster: Any | None) -> Any:
    from mlk.kube.extension import options_for

    nodes = cluster.node_count() if cluster is not None else None
    return options_for(settings, given, namespace=namespace, system_image=image, node_count=nodes)


@command(app, "install", help="Install mlk's CRDs, operator, router (and GPU plugins) into a cluster.")
def install(
    config: Config = None,
    config_protected: Protected = None,
    namespace: Namespace = "mlk-system",
    kube_context: Context = None,
    kubeconfig: Kubeconfig = None,
    system_image: Image = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print every manifest; apply nothing.")] = False,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", help="Write one file per object.")] = None,
    name: Ignored = None,
    extension_type: Ignored = None,
    cluster_name: Ignored = None,
    cluster_type: Ignored = None,
    scope: Ignored = None,
) -> None:
    from mlk.kube import extension

    settings, given = parse_settings(config or [], config_protected or [])
    if dry_run or output_dir is not None:
        options = _options(settings, given, namespace, system_image, None)
        objects = [*extension.render(options), extension.record_object(options, settings, given)]
        objects += extension.render_monitors(options)  # applied after the Helm charts (their CRDs)
        console.print(extension.write_manifests(objects, output_dir))
        return
    with extension.cluster_for(str(kubeconfig) if kubeconfig else None, kube_context) as cluster:
        options = _options(settings, given, namespace, system_image, cluster)
        objects = [*extension.render(options), extension.record_object(options, settings, given)]
        extension.apply(cluster, objects, console.info)
        extension.run_helm(options, console.info)
        extension.apply_monitors(cluster, extension.render_monitors(options), console.info)
        console.result(extension.components(cluster, namespace), columns=COLUMNS)


@command(app, "show", help="Show the extension's components and whether they are ready.")
def show(namespace: Namespace = "mlk-system", kube_context: Context = None, kubeconfig: Kubeconfig = None) -> None:
    from mlk.kube import extension

    with extension.cluster_for(str(kubeconfig) if kubeconfig else None, kube_context) as cluster:
        settings = extension.installed_settings(cluster, namespace)
        console.info("settings: " + " ".join(f"{k}={v}" for k, v in sorted(settings.items())))
        console.result(extension.components(cluster, namespace), columns=COLUMNS)


@command(app, "update", help="Change settings (only those given); says which running endpoints it affects.")
def update(
    config: Config = None,
    config_protected: Protected = None,
    namespace: Namespace = "mlk-system",
    kube_context: Context = None,
    kubeconfig: Kubeconfig = None,
    system_image: Image = None,
    yes: Yes = False,
) -> None:
    from mlk.kube import extension, teardown

    with extension.cluster_for(str(kubeconfig) if kubeconfig else None, kube_context) as cluster:
        previous, installed_image = extension.installed_choices(cluster, namespace)
        changes = [*(config or []), *(config_protected or [])]
        merged = [f"{k}={v}" for k, v in previous.items() if k not in {c.split("=", 1)[0] for c in changes}]
        settings, given = parse_settings([*merged, *(config or [])], config_protected or [])
        affected = teardown.endpoints(cluster)
        if affected:
            console.info(f"running endpoints that go through the updated router/operator: {', '.join(affected)}")
            if not yes and sys.stdin.isatty() and not typer.confirm("Update the extension?"):
                raise typer.Exit(1)
        options = _options(settings, given, namespace, system_image or installed_image, cluster)
        objects = [*extension.render(options), extension.record_object(options, settings, given)]
        extension.apply(cluster, objects, console.info)
        extension.apply_monitors(cluster, extension.render_monitors(options), console.info)
        console.result(extension.components(cluster, namespace), columns=COLUMNS)


@command(app, "delete", help="Remove the extension (refused while endpoints exist, unless --force).")
def delete(
    namespace: Namespace = "mlk-system",
    kube_context: Context = None,
    kubeconfig: Kubeconfig = None,
    yes: Yes = False,
    force: Annotated[bool, typer.Option("--force", help="Even with endpoints.")] = False,
) -> None:
    from mlk.kube import extension, teardown

    with extension.cluster_for(str(kubeconfig) if kubeconfig else None, kube_context) as cluster:
        settings = extension.installed_settings(cluster, namespace)
        if (
            not yes
            and sys.stdin.isatty()
            and not typer.confirm(f"Delete the mlk extension from namespace {namespace}?")
        ):
            raise typer.Exit(1)
        options = _options(settings, list(settings), namespace, None, cluster)
        teardown.delete(cluster, namespace, extension.render(options), force=force, say=console.info)


@command(
    app,
    "build-image",
    help="Build mlk's own image (operator, router, storage-initializer, server), or with --tracking the MLflow "
    "tracking server's (enableTraining).",
)
def build_image(
    base_image: Annotated[
        str, typer.Option("--base-image", help="A Debian-like image with Python 3.11+ (used when local).")
    ] = "python:3.11-slim",
    push: Annotated[str | None, typer.Option("--push", help="Registry to push to, HOST[:PORT][/PREFIX].")] = None,
    pull: Annotated[str, typer.Option("--pull", help="Base image: missing (default), always or never.")] = "missing",
    tracking: Annotated[
        bool, typer.Option("--tracking", help="The tracking server's image instead (the trackingImage setting).")
    ] = False,
) -> None:
    from mlk.cli.builds_view import live_lines
    from mlk.workspace import system_image
    from mlk.workspace.home import open_workspace

    ws = open_workspace(console.settings.workspace)
    part = "tracking" if tracking else "system"
    with live_lines(f"building mlk's {part} image") as on_lines:
        result = system_image.ensure_system_image(
            ws, base=base_image, say=console.info, on_lines=on_lines, push_to=push, pull=pull, part=part
        )
    console.info(f"image {result.describe()}")
    use = f"--config trackingImage={result.reference}" if tracking else f"--system-image {result.reference}"
    console.info(f"install with it: mlk extension install {use} --config ...")
    console.result(
        {"image": result.reference, "tag": result.tag, "reused": result.reused, "seconds": round(result.seconds, 2)}
    )
