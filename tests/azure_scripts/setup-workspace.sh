#!/usr/bin/env bash
# The setup every Azure sample assumes, in the shape of Azure's setup script: a workspace in a group and a
# location, created (a second create of the same workspace is fine in az: it updates it), then made the
# default with `az configure`, so that later commands name neither the group nor the workspace.
set -euo pipefail

# a failed check is reported and the script goes on; it exits 1 at the end with every failed check listed
FAILED=()
fail() { echo "FAILED: $*" >&2; FAILED+=("$*"); }
trap 'echo "FAILED: exit $? at line $LINENO of $0" >&2' ERR
trap '(( ${#FAILED[@]} == 0 )) || { printf "check failed: %s\n" "${FAILED[@]}" >&2; exit 1; }' EXIT

GROUP="azureml-examples"
LOCATION="eastus"
WORKSPACE="main"

az ml workspace create -n $WORKSPACE -g $GROUP -l $LOCATION
az ml workspace create -n $WORKSPACE -g $GROUP -l $LOCATION  # again, as a rerun of the setup would
az configure --defaults group=$GROUP workspace=$WORKSPACE location=$LOCATION

defaults=$(az configure --list-defaults --query "[?name=='workspace'].value" -o tsv)
[[ $defaults == "$WORKSPACE" ]] || fail "the default workspace is '$defaults'"
name=$(az ml workspace show --query name -o tsv)
[[ $name == "$WORKSPACE" ]] || fail "workspace show (the default) names '$name'"
workspaces=$(az ml workspace list --query "[].name" -o tsv)
grep -qx "$WORKSPACE" <<<"$workspaces" || fail "workspace list does not list $WORKSPACE: $workspaces"
endpoints=$(az ml online-endpoint list --query "length(@)" -o tsv)
[[ $endpoints == 0 ]] || fail "a new workspace lists $endpoints endpoints"
echo "setup: done"
