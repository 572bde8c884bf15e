#!/usr/bin/env bash
# A local endpoint, as Azure's local-endpoint sample runs it: create it and its one deployment with --local,
# check both succeeded, score with invoke and with curl on the scoring URI (no key: local endpoints ask for
# none), read the logs, delete. Assets: sample/ (a managed endpoint and deployment, examples' sklearn model).
set -euo pipefail

# a failed check is reported and the script goes on; it exits 1 at the end with every failed check listed
FAILED=()
fail() { echo "FAILED: $*" >&2; FAILED+=("$*"); }
trap 'echo "FAILED: exit $? at line $LINENO of $0" >&2' ERR
trap '(( ${#FAILED[@]} == 0 )) || { printf "check failed: %s\n" "${FAILED[@]}" >&2; exit 1; }' EXIT

GROUP=${GROUP:-azureml-examples}
WORKSPACE=${WORKSPACE:-main}
ENDPOINT_NAME=endpt-$RANDOM

# create the endpoint and its deployment on this machine
az ml online-endpoint create --local -n $ENDPOINT_NAME -f sample/endpoint.yml -g $GROUP -w $WORKSPACE
az ml online-deployment create --local -n blue --endpoint $ENDPOINT_NAME -f sample/blue-deployment.yml \
  -g $GROUP -w $WORKSPACE

# both must have succeeded
az ml online-endpoint show -n $ENDPOINT_NAME --local -g $GROUP -w $WORKSPACE
endpoint_status=$(az ml online-endpoint show --local --name $ENDPOINT_NAME --query provisioning_state -o tsv \
  -g $GROUP -w $WORKSPACE)
echo "endpoint: $endpoint_status"
[[ $endpoint_status == Succeeded ]] || fail "endpoint provisioning_state is '$endpoint_status'"
deploy_status=$(az ml online-deployment show --local --name blue --endpoint $ENDPOINT_NAME \
  --query provisioning_state -o tsv -g $GROUP -w $WORKSPACE)
echo "deployment: $deploy_status"
[[ $deploy_status == Succeeded ]] || fail "deployment provisioning_state is '$deploy_status'"

# score through the CLI: -o tsv prints the body the endpoint answered
RESPONSE=$(az ml online-endpoint invoke --local --name $ENDPOINT_NAME --request-file sample/sample-request.json \
  -g $GROUP -w $WORKSPACE -o tsv)
echo "invoke: $RESPONSE"

# score with curl: a local endpoint's scoring URI takes no key
SCORING_URI=$(az ml online-endpoint show --local -n $ENDPOINT_NAME -o tsv --query scoring_uri -g $GROUP -w $WORKSPACE)
echo "scoring URI: $SCORING_URI"
[[ $SCORING_URI == http://127.0.0.1:*/score ]] || fail "scoring URI '$SCORING_URI' is not on 127.0.0.1"
CURL_RESPONSE=$(curl --silent --show-error --fail --request POST "$SCORING_URI" \
  --header 'Content-Type: application/json' --data @sample/sample-request.json)
echo "curl: $CURL_RESPONSE"
[[ $CURL_RESPONSE =~ ^\[[0-9.]+,\ ?[0-9.]+\]$ ]] || fail "curl's answer is not two predictions: $CURL_RESPONSE"
[[ $RESPONSE == "$CURL_RESPONSE" ]] || fail "invoke printed '$RESPONSE', the endpoint answered '$CURL_RESPONSE'"

# the logs show the model loaded and the requests answered
LOGS=$(az ml online-deployment get-logs --local -n blue --endpoint $ENDPOINT_NAME -g $GROUP -w $WORKSPACE)
echo "$LOGS" | tail -n 20
[[ $LOGS == *"init"* ]] || fail "get-logs shows no init()"
[[ $LOGS == *"POST /score 200"* ]] || fail "get-logs shows no scored request"

# delete: the endpoint is gone afterwards
az ml online-endpoint delete --local --name $ENDPOINT_NAME --yes -g $GROUP -w $WORKSPACE
if az ml online-endpoint show --local -n $ENDPOINT_NAME -g $GROUP -w $WORKSPACE >/dev/null 2>&1; then
  fail "the endpoint is still there after delete"
fi
echo "local endpoint: done"
