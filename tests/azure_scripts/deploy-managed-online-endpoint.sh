#!/usr/bin/env bash
# A managed endpoint, in the shape of Azure's managed-endpoint sample and its how-tos on mirrored traffic and
# scaling: blue with all traffic, checked and scored (invoke, curl with the key), scaled out to two instances
# and back (update --set instance_count), green with a mirrored share of live traffic (and the limits az
# enforces on mirroring), logs, delete. The group and workspace are named on every command, with az's long
# flags. score.py answers with its deployment and process id, so answers show who served them.
# Assets: managed/ (the model is tests/local/app's).
set -euo pipefail

# a failed check is reported and the script goes on; it exits 1 at the end with every failed check listed
FAILED=()
fail() { echo "FAILED: $*" >&2; FAILED+=("$*"); }
trap 'echo "FAILED: exit $? at line $LINENO of $0" >&2' ERR
trap '(( ${#FAILED[@]} == 0 )) || { printf "check failed: %s\n" "${FAILED[@]}" >&2; exit 1; }' EXIT

GROUP=${GROUP:-azureml-examples}
WORKSPACE=${WORKSPACE:-main}
WS="--resource-group $GROUP --workspace-name $WORKSPACE"
ENDPOINT_NAME=endpt-$RANDOM

# the JSON answers of N concurrent requests (their output may interleave: count matches, not lines)
score_concurrently() {
  local n=$1 request=$2; shift 2
  seq "$n" | xargs -P "$n" -I{} curl --silent --show-error --fail --request POST "$SCORING_URI" \
    --header "Authorization: Bearer $ENDPOINT_KEY" --header 'Content-Type: application/json' "$@" \
    --data @"$request" --write-out '\n'
}
pids_of() { grep -o '"pid": *[0-9]*' | grep -o '[0-9]*$' | sort -u | wc -l; }

az ml online-endpoint create --name $ENDPOINT_NAME -f managed/endpoint.yml $WS
az ml online-deployment create --name blue --endpoint $ENDPOINT_NAME -f managed/blue-deployment.yml --all-traffic $WS
az ml online-endpoint show -n $ENDPOINT_NAME $WS

endpoint_status=$(az ml online-endpoint show --name $ENDPOINT_NAME --query provisioning_state -o tsv $WS)
[[ $endpoint_status == Succeeded ]] || fail "endpoint provisioning_state is '$endpoint_status'"
deploy_status=$(az ml online-deployment show --name blue --endpoint $ENDPOINT_NAME --query provisioning_state -o tsv $WS)
[[ $deploy_status == Succeeded ]] || fail "deployment provisioning_state is '$deploy_status'"
scale_type=$(az ml online-deployment show --name blue --endpoint $ENDPOINT_NAME --query scale_settings.type -o tsv $WS)
[[ $scale_type == default ]] || fail "blue's scale_settings.type is '$scale_type', a managed deployment's is default"

RESPONSE=$(az ml online-endpoint invoke --name $ENDPOINT_NAME --request-file managed/sample-request.json $WS)
echo "invoke: $RESPONSE"
[[ $RESPONSE == *blue* ]] || fail "invoke was not answered by blue: $RESPONSE"

ENDPOINT_KEY=$(az ml online-endpoint get-credentials -n $ENDPOINT_NAME -o tsv --query primaryKey $WS)
SECONDARY_KEY=$(az ml online-endpoint get-credentials -n $ENDPOINT_NAME -o tsv --query secondaryKey $WS)
SCORING_URI=$(az ml online-endpoint show -n $ENDPOINT_NAME -o tsv --query scoring_uri $WS)
curl --silent --show-error --fail --request POST "$SCORING_URI" --header "Authorization: Bearer $ENDPOINT_KEY" \
  --header 'Content-Type: application/json' --data @managed/sample-request.json
echo
status=$(curl --silent --output /dev/null --write-out '%{http_code}' --request POST "$SCORING_URI" \
  --header "Authorization: Bearer $SECONDARY_KEY" --header 'Content-Type: application/json' \
  --data @managed/sample-request.json)
[[ $status == 200 ]] || fail "the secondary key got HTTP $status"

# scale out: two instances share concurrent requests (4 in flight: azureml-fe answers 429 beyond
# 2 x max_concurrent_requests_per_instance x instances)
az ml online-deployment update --name blue --endpoint $ENDPOINT_NAME --set instance_count=2 $WS
count=$(az ml online-deployment show --name blue --endpoint $ENDPOINT_NAME --query instance_count -o tsv $WS)
[[ $count == 2 ]] || fail "instance_count is '$count' after update --set instance_count=2"
answers=$(score_concurrently 4 managed/slow-request.json)
[[ $(grep -o '"blue"' <<<"$answers" | wc -l) == 4 ]] || fail "4 concurrent requests on 2 instances: $answers"
instances=$(pids_of <<<"$answers")
[[ $instances == 2 ]] || fail "4 concurrent requests were served by $instances process(es), not the 2 instances"

# green, with no live traffic, gets a mirrored copy of 20 % of it
az ml online-deployment create --name green --endpoint $ENDPOINT_NAME -f managed/green-deployment.yml $WS
az ml online-endpoint update --name $ENDPOINT_NAME --mirror-traffic "green=20" $WS
mirrored=$(az ml online-endpoint show -n $ENDPOINT_NAME --query mirror_traffic.green -o tsv $WS)
[[ $mirrored == 20 ]] || fail "mirror_traffic.green is '$mirrored'"
answers=$(for i in $(seq 50); do
  curl --silent --show-error --fail --request POST "$SCORING_URI" --header "Authorization: Bearer $ENDPOINT_KEY" \
    --header 'Content-Type: application/json' --data @managed/sample-request.json --write-out '\n'
done)
[[ $(grep -o '"blue"' <<<"$answers" | wc -l) == 50 ]] || fail "with green mirrored, not all 50 answers came from blue"
sleep 1  # copies are sent on the side
copies=$(az ml online-deployment get-logs --name green --endpoint $ENDPOINT_NAME $WS | grep -c 'scored by green' || true)
echo "green scored $copies mirrored copies of 50 requests"
((copies > 0 && copies < 30)) || fail "green scored $copies copies of 50 requests mirrored at 20 %"

# what az refuses: more than 50 % mirrored, live traffic to the mirrored deployment
if az ml online-endpoint update --name $ENDPOINT_NAME --mirror-traffic "green=60" $WS; then
  fail "--mirror-traffic green=60 was accepted (az: at most 50 %)"
fi
if az ml online-endpoint update --name $ENDPOINT_NAME --traffic "blue=90 green=10" $WS; then
  fail "live traffic to green was accepted while green is mirrored"
fi
az ml online-endpoint update --name $ENDPOINT_NAME --mirror-traffic "green=0" $WS
traffic=$(az ml online-endpoint show -n $ENDPOINT_NAME --query "[traffic.blue, mirror_traffic.green]" -o tsv $WS | xargs)
[[ $traffic == "100" || $traffic == "100 0" ]] || fail "blue's traffic and green's mirror: '$traffic'"

# scale back in
az ml online-deployment update --name blue --endpoint $ENDPOINT_NAME --set instance_count=1 $WS
answers=$(score_concurrently 2 managed/slow-request.json)
instances=$(pids_of <<<"$answers")
[[ $instances == 1 ]] || fail "after scaling in, requests were served by $instances processes"

# logs: the last lines only
az ml online-deployment get-logs --name blue --endpoint $ENDPOINT_NAME --lines 5 $WS
lines=$(az ml online-deployment get-logs --name blue --endpoint $ENDPOINT_NAME --lines 5 $WS | wc -l)
((lines <= 5)) || fail "get-logs --lines 5 printed $lines lines"

az ml online-endpoint delete --name $ENDPOINT_NAME --yes $WS
if az ml online-endpoint show --name $ENDPOINT_NAME $WS >/dev/null 2>&1; then
  fail "the endpoint is still there after delete"
fi
echo "managed endpoint: done"
