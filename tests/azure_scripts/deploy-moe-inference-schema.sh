#!/usr/bin/env bash
# inference-schema, in the shape of Azure's inference-schema sample: an endpoint created by name alone, a model
# registered from model.yml with a random version, then three deployments of it (plain Python types, numpy,
# pandas), each taking all traffic in turn; each is scored with curl and its swagger fetched from the
# endpoint's openapi_uri. A schema-decorated run() takes JSON only: another content type is refused (415).
# Assets: inference-schema/ (examples' model-1 sklearn regression).
set -euo pipefail

# a failed check is reported and the script goes on; it exits 1 at the end with every failed check listed
FAILED=()
fail() { echo "FAILED: $*" >&2; FAILED+=("$*"); }
trap 'echo "FAILED: exit $? at line $LINENO of $0" >&2' ERR
trap '(( ${#FAILED[@]} == 0 )) || { printf "check failed: %s\n" "${FAILED[@]}" >&2; exit 1; }' EXIT

RAND=$RANDOM
ENDPOINT_NAME=endpt-moe-$RAND
BASE_PATH=inference-schema
FIRST=5430.9  # model-1's prediction for the first row of every sample input

az ml online-endpoint create -n $ENDPOINT_NAME
endpoint_status=$(az ml online-endpoint show --name $ENDPOINT_NAME --query provisioning_state -o tsv)
[[ $endpoint_status == Succeeded ]] || fail "endpoint provisioning_state is '$endpoint_status'"

az ml model create -f $BASE_PATH/model.yml --set version=$RAND
version=$(az ml model show --name azureml-infschema --version $RAND --query version -o tsv)
[[ $version == "$RAND" ]] || fail "model show --version $RAND shows version '$version'"

KEY=$(az ml online-endpoint get-credentials -n $ENDPOINT_NAME --query primaryKey -o tsv)
SCORING_URL=$(az ml online-endpoint show -n $ENDPOINT_NAME --query scoring_uri -o tsv)
SWAGGER_URL=$(az ml online-endpoint show -n $ENDPOINT_NAME --query openapi_uri -o tsv)
echo "scoring: $SCORING_URL  swagger: $SWAGGER_URL"

for kind in standard numpy pandas; do
  echo "--- $kind"
  az ml online-deployment create -f $BASE_PATH/deployment-$kind.yml \
    --set model="azureml:azureml-infschema:$RAND" \
    --set endpoint_name=$ENDPOINT_NAME \
    --all-traffic
  deploy_status=$(az ml online-deployment show --name infsrv-$kind --endpoint $ENDPOINT_NAME \
    --query provisioning_state -o tsv)
  [[ $deploy_status == Succeeded ]] || fail "infsrv-$kind provisioning_state is '$deploy_status'"
  traffic=$(az ml online-endpoint show -n $ENDPOINT_NAME --query "traffic.\"infsrv-$kind\"" -o tsv)
  [[ $traffic == 100 ]] || fail "infsrv-$kind has $traffic % of the traffic after --all-traffic"

  answer=$(curl --silent --show-error -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
    -d @$BASE_PATH/sample-inputs/$kind.json --write-out ' %{http_code}' $SCORING_URL)
  echo "$answer"
  [[ $answer == *"$FIRST"*" 200" ]] || fail "$kind: the score is not model-1's prediction: $answer"
  [[ $kind != standard || $answer == *'"input_type": "list"'* ]] || fail "standard: data did not arrive as a list"

  swagger=$(curl --silent --show-error --fail -H "Authorization: Bearer $KEY" $SWAGGER_URL)
  echo "${swagger:0:300}..."
  [[ $swagger =~ \"swagger\":\ ?\"2\.0\" ]] || fail "$kind: $SWAGGER_URL is not a swagger 2.0 document"
  [[ $swagger == *'"data"'* ]] || fail "$kind: the swagger does not describe the 'data' input"
  swagger3=$(curl --silent --show-error --fail -H "Authorization: Bearer $KEY" "$SWAGGER_URL?version=3")
  [[ $swagger3 =~ \"openapi\":\ ?\"3\. ]] || fail "$kind: $SWAGGER_URL?version=3 is not an OpenAPI 3 document"

  status=$(curl --silent --output /dev/null --write-out '%{http_code}' -H "Authorization: Bearer $KEY" \
    -H "Content-Type: text/plain" -d @$BASE_PATH/sample-inputs/$kind.json $SCORING_URL)
  [[ $status == 415 ]] || fail "$kind: a text/plain body got HTTP $status, not 415"
done

deployments=$(az ml online-deployment list --endpoint $ENDPOINT_NAME --query "length(@)" -o tsv)
[[ $deployments == 3 ]] || fail "the endpoint lists $deployments deployments, not 3"

az ml online-endpoint delete -y -n $ENDPOINT_NAME --no-wait
echo "inference-schema: done"
