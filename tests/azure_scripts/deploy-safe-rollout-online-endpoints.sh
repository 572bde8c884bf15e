#!/usr/bin/env bash
# Safe rollout, as in Azure's safe-rollout sample (Kubernetes YAML): blue takes all traffic and scales to two
# instances, green comes up with none, is tried alone (invoke -d, curl with azureml-model-deployment), gets a
# mirrored copy of live traffic, then 10 % of it, then all of it, and blue is deleted. Defaults come from
# `az configure`, so no command names the group or workspace. Blue is model-1, green model-2: their
# predictions tell which one answered. Assets: saferollout/.
set -euo pipefail

# a failed check is reported and the script goes on; it exits 1 at the end with every failed check listed
FAILED=()
fail() { echo "FAILED: $*" >&2; FAILED+=("$*"); }
trap 'echo "FAILED: exit $? at line $LINENO of $0" >&2' ERR
trap '(( ${#FAILED[@]} == 0 )) || { printf "check failed: %s\n" "${FAILED[@]}" >&2; exit 1; }' EXIT

GROUP=${GROUP:-azureml-examples}
WORKSPACE=${WORKSPACE:-main}
az configure --defaults group=$GROUP workspace=$WORKSPACE

ENDPOINT_NAME=endpt-$RANDOM
BLUE=5430.9    # model-1's first prediction for sample-request.json
GREEN=6039.6   # model-2's

# which model answered each of N requests to the scoring URI (blue, green or the HTTP status)
score_many() {
  local n=$1; shift
  for ((i = 0; i < n; i++)); do
    local body
    body=$(curl --silent --show-error --request POST "$SCORING_URI" --header "Authorization: Bearer $ENDPOINT_KEY" \
      --header 'Content-Type: application/json' "$@" --data @saferollout/sample-request.json --write-out ' %{http_code}')
    case $body in
      *"$BLUE"*" 200") echo blue ;;
      *"$GREEN"*" 200") echo green ;;
      *) echo "${body##* }" ;;
    esac
  done
}
scored_requests() {  # how many requests a deployment's server logged
  az ml online-deployment get-logs --name $1 --endpoint $ENDPOINT_NAME --lines 5000 | grep -c 'POST /score 200' || true
}

# the endpoint, and blue with all the traffic
az ml online-endpoint create --name $ENDPOINT_NAME -f saferollout/endpoint.yml
az ml online-deployment create --name blue --endpoint $ENDPOINT_NAME -f saferollout/blue-deployment.yml --all-traffic
RESPONSE=$(az ml online-endpoint invoke --name $ENDPOINT_NAME --request-file saferollout/sample-request.json)
echo "invoke: $RESPONSE"
[[ $RESPONSE == *"$BLUE"* ]] || fail "invoke did not reach blue: $RESPONSE"

# scale blue out
az ml online-deployment update --name blue --endpoint $ENDPOINT_NAME --set instance_count=2
count=$(az ml online-deployment show --name blue --endpoint $ENDPOINT_NAME --query instance_count -o tsv)
[[ $count == 2 ]] || fail "blue's instance_count is '$count' after update --set instance_count=2"

# green, without traffic
az ml online-deployment create --name green --endpoint $ENDPOINT_NAME -f saferollout/green-deployment.yml
az ml online-endpoint show -n $ENDPOINT_NAME --query traffic
blue_traffic=$(az ml online-endpoint show -n $ENDPOINT_NAME --query traffic.blue -o tsv)
green_traffic=$(az ml online-endpoint show -n $ENDPOINT_NAME --query traffic.green -o tsv)
[[ $blue_traffic == 100 && ${green_traffic:-0} == 0 ]] || fail "traffic after green: blue=$blue_traffic green=$green_traffic"

# try green alone: with the CLI, then with curl and the deployment header
RESPONSE=$(az ml online-endpoint invoke --name $ENDPOINT_NAME --deployment green \
  --request-file saferollout/sample-request.json)
echo "invoke -d green: $RESPONSE"
[[ $RESPONSE == *"$GREEN"* ]] || fail "invoke --deployment green did not reach green: $RESPONSE"
ENDPOINT_KEY=$(az ml online-endpoint get-credentials -n $ENDPOINT_NAME -o tsv --query primaryKey)
SCORING_URI=$(az ml online-endpoint show -n $ENDPOINT_NAME -o tsv --query scoring_uri)
[[ -n $ENDPOINT_KEY ]] || fail "no primary key"
curl --silent --show-error --request POST "$SCORING_URI" --header "Authorization: Bearer $ENDPOINT_KEY" \
  --header 'Content-Type: application/json' --header "azureml-model-deployment: green" \
  --data @saferollout/sample-request.json
echo
answers=$(score_many 5 --header "azureml-model-deployment: green" | sort | uniq -c | xargs)
[[ $answers == "5 green" ]] || fail "5 requests pinned to green were answered: $answers"
answers=$(score_many 5 | sort | uniq -c | xargs)
[[ $answers == "5 blue" ]] || fail "with green at 0 %, 5 requests were answered: $answers"
status=$(curl --silent --output /dev/null --write-out '%{http_code}' --request POST "$SCORING_URI" \
  --header 'Content-Type: application/json' --data @saferollout/sample-request.json)
[[ $status == 401 ]] || fail "a request without a key got HTTP $status, not 401"

# mirror 10 % of live traffic to green: blue still answers every request, green sees copies
az ml online-endpoint update --name $ENDPOINT_NAME --mirror-traffic "green=10"
mirrored=$(az ml online-endpoint show -n $ENDPOINT_NAME --query mirror_traffic.green -o tsv)
[[ $mirrored == 10 ]] || fail "mirror_traffic.green is '$mirrored' after --mirror-traffic green=10"
green_before=$(scored_requests green)
answers=$(score_many 100 | sort | uniq -c | xargs)
[[ $answers == "100 blue" ]] || fail "with green mirrored, 100 requests were answered: $answers"
sleep 1  # mirrored copies are sent on the side
green_after=$(scored_requests green)
echo "green scored $((green_after - green_before)) mirrored copies of 100 requests"
((green_after > green_before)) || fail "green's logs show no mirrored request ($green_before before, $green_after after)"
((green_after - green_before < 50)) || fail "green got $((green_after - green_before)) of 100 copies at 10 %"
az ml online-endpoint update --name $ENDPOINT_NAME --mirror-traffic "green=0"
mirrored=$(az ml online-endpoint show -n $ENDPOINT_NAME --query mirror_traffic.green -o tsv)
[[ ${mirrored:-0} == 0 ]] || fail "mirror_traffic.green is '$mirrored' after --mirror-traffic green=0"

# 10 % of live traffic to green
az ml online-endpoint update --name $ENDPOINT_NAME --traffic "blue=90 green=10"
traffic=$(az ml online-endpoint show -n $ENDPOINT_NAME --query "[traffic.blue, traffic.green]" -o tsv | xargs)
[[ $traffic == "90 10" ]] || fail "traffic is '$traffic' after --traffic 'blue=90 green=10'"
answers=$(score_many 200)
blue_count=$(grep -cx blue <<<"$answers" || true)
green_count=$(grep -cx green <<<"$answers" || true)
echo "90/10: blue answered $blue_count, green $green_count of 200"
((blue_count + green_count == 200)) || fail "at 90/10, some requests failed: $(sort <<<"$answers" | uniq -c | xargs)"
((green_count > 0 && green_count < 60)) || fail "at 90/10, green answered $green_count of 200"

# all traffic to green
az ml online-endpoint update --name $ENDPOINT_NAME --traffic "blue=0 green=100"
answers=$(score_many 10 | sort | uniq -c | xargs)
[[ $answers == "10 green" ]] || fail "at 0/100, 10 requests were answered: $answers"

# blue goes; green keeps serving
az ml online-deployment delete --name blue --endpoint $ENDPOINT_NAME --yes
deployments=$(az ml online-deployment list --endpoint $ENDPOINT_NAME --query "[].name" -o tsv | xargs)
[[ $deployments == green ]] || fail "deployments after deleting blue: '$deployments'"
RESPONSE=$(az ml online-endpoint invoke --name $ENDPOINT_NAME --request-file saferollout/sample-request.json)
[[ $RESPONSE == *"$GREEN"* ]] || fail "after blue's delete, invoke got: $RESPONSE"

az ml online-endpoint delete --name $ENDPOINT_NAME --yes --no-wait
echo "safe rollout: done"
