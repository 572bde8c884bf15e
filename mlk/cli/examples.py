"""The Examples section of each command's --help, as az prints one: what a user types most often.

Kept here, apart from the commands, so one table shows every example and `mlk.cli.app` attaches them to
whichever nouns it registers."""

from __future__ import annotations

import typer

EXAMPLES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("online-endpoint", "create"): (
        ("Create an endpoint from a YAML file", "mlk online-endpoint create -f endpoint.yml"),
        ("Create a local endpoint (Azure's local rules)", "mlk online-endpoint create -n my-endpoint --local"),
    ),
    ("online-endpoint", "update"): (
        ("Split the traffic", 'mlk online-endpoint update -n my-endpoint --traffic "blue=90 green=10"'),
        ("Mirror 10% to green", 'mlk online-endpoint update -n my-endpoint --mirror-traffic "green=10"'),
        ("Add a tag", "mlk online-endpoint update -n my-endpoint --set tags.owner=ana"),
    ),
    ("online-endpoint", "show"): (
        ("Show an endpoint", "mlk online-endpoint show -n my-endpoint"),
        ("Its scoring URI, for a script", "mlk online-endpoint show -n my-endpoint --query scoring_uri -o tsv"),
    ),
    ("online-endpoint", "list"): (("List the endpoints as a table", "mlk online-endpoint list -o table"),),
    ("online-endpoint", "invoke"): (
        ("Score", "mlk online-endpoint invoke -n my-endpoint -r sample-request.json"),
        ("Score one deployment", "mlk online-endpoint invoke -n my-endpoint -d green -r sample-request.json"),
    ),
    ("online-endpoint", "get-credentials"): (
        ("The primary key", "mlk online-endpoint get-credentials -n my-endpoint --query primaryKey -o tsv"),
    ),
    ("online-endpoint", "regenerate-keys"): (
        ("New secondary key", "mlk online-endpoint regenerate-keys -n my-endpoint --key-type secondary"),
    ),
    ("online-endpoint", "delete"): (("Delete without asking", "mlk online-endpoint delete -n my-endpoint --yes"),),
    ("online-deployment", "create"): (
        ("Create and take all traffic", "mlk online-deployment create -f blue.yml --all-traffic"),
        ("Create with two replicas", "mlk online-deployment create -f green.yml --set instance_count=2"),
    ),
    ("online-deployment", "update"): (
        ("Scale out", "mlk online-deployment update -n blue -e my-endpoint --set instance_count=3"),
        ("Roll out a changed file", "mlk online-deployment update -f blue.yml"),
    ),
    ("online-deployment", "show"): (("Show a deployment", "mlk online-deployment show -n blue -e my-endpoint"),),
    ("online-deployment", "list"): (("List the deployments", "mlk online-deployment list -e my-endpoint -o table"),),
    ("online-deployment", "get-logs"): (
        ("The last 100 lines", "mlk online-deployment get-logs -n blue -e my-endpoint --lines 100"),
        ("The model download", "mlk online-deployment get-logs -n blue -e my-endpoint -c storage-initializer"),
    ),
    ("online-deployment", "delete"): (
        ("Delete without asking", "mlk online-deployment delete -n green -e my-endpoint --yes"),
    ),
    ("job", "create"): (
        ("Run a command job and follow it", "mlk job create -f job.yml --stream"),
        ("Run it here, with another learning rate", "mlk job create -f job.yml --local --set inputs.lr=0.01"),
    ),
    ("job", "show"): (
        ("Its status, for a script", "mlk job show -n my-job --query status -o tsv"),
        ("The metrics it logged with MLflow", "mlk job show -n my-job --query metrics"),
    ),
    ("job", "download"): (
        ("Every output", "mlk job download -n my-job --all --download-path ./out"),
        ("The model output", "mlk job download -n my-job --output-name model"),
    ),
    ("job", "cancel"): (("Stop a job", "mlk job cancel -n my-job"),),
    ("data", "create"): (
        ("Register a CSV", "mlk data create -n iris --type uri_file --path data/iris.csv"),
        ("Register a folder from a URL or a job", "mlk data create -f data.yml"),
    ),
    ("model", "create"): (
        ("Register a model folder", "mlk model create -n my-model -v 1 -p ./model"),
        (
            "Register what a job logged with MLflow",
            "mlk model create -n my-model --type mlflow_model -p azureml://jobs/my-job/outputs/artifacts/paths/model/",
        ),
    ),
    ("model", "show"): (("The newest version", "mlk model show -n my-model --label latest"),),
    ("model", "archive"): (("Hide version 1 from list (deployments keep it)", "mlk model archive -n my-model -v 1"),),
    ("model", "restore"): (("Bring it back", "mlk model restore -n my-model -v 1"),),
    ("environment", "create"): (("Register an environment", "mlk environment create -f environment.yml"),),
    ("compute", "attach"): (
        (
            "Attach a cluster's namespace",
            "mlk compute attach --type Kubernetes -n k8s-compute --kubeconfig ~/.kube/config --namespace ml",
        ),
    ),
    ("extension", "install"): (
        (
            "Inference with a LoadBalancer router",
            "mlk extension install --config enableInference=True inferenceRouterServiceType=LoadBalancer "
            "allowInsecureConnections=True",
        ),
    ),
    ("workspace", "create"): (("A workspace on this machine", "mlk workspace create -n my-workspace --use"),),
}


def attach(noun: str, app: typer.Typer) -> None:
    """Give the commands of `noun` their Examples section (click keeps a `\\b` paragraph as written)."""
    for info in app.registered_commands:
        examples = EXAMPLES.get((noun, info.name or ""))
        if examples:
            lines = ["\b", "Examples"]
            for title, line in examples:
                lines += [f"    {title}:", f"        {line}"]
            info.epilog = "\n".join(lines)
