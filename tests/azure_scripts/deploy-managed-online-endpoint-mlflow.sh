#!/usr/bin/env bash
# No-code MLflow deployments, in the shape of Azure's MLflow samples: an MLflow model deployed without
# score.py or environment (the model's own conda.yaml makes the environment), first inline, then registered
# with `az ml model create --type mlflow_model` and deployed by reference beside it. Requests take Azure's
# `input_data` shapes (a split DataFrame, a tensor). The model is tests/local/mlflow's: y = 10a + b + 5.
# At the end the registered model is archived, as Azure's samples clean up. Assets: mlflow/.
set -euo pipefail

# a failed check is reported and the script goes on; it exits 1 at the end with every failed check listed
FAILED=()
fail() { echo "FAILED: $*" >&2; FAILED+=("$*"); }
trap 'echo "FAILED: exit $? at line $LINENO of $0" >&2' ERR
trap '(( ${#FAILED[@]} == 0 )) || { printf "check failed: %s\n" "${FAILED[@]}" >&2; exit 1; }' EXIT

ENDPOINT_NAME=endpt-ncd-$RANDOM
AML_MODEL_NAME=sklearn-mlflow
rounded() { grep -oE -- '-?[0-9][0-9.eE+-]*' | awk '{printf "%s%.3f", (NR > 1 ? " " : ""), $1}'; }  # numbers, 3 decimals

az ml online-endpoint create --name $ENDPOINT_NAME -f mlflow/create-endpoint.yaml
endpoint_status=$(az ml online-endpoint show --name $ENDPOINT_NAME --query provisioning_state -o tsv)
[[ $endpoint_status == Succeeded ]] || fail "endpoint provisioning_state is '$endpoint_status'"

# an inline MLflow model, no code, all traffic
az ml online-deployment create --name sklearn-deployment --endpoint $ENDPOINT_NAME \
  -f mlflow/sklearn-deployment.yaml --all-traffic
deploy_status=$(az ml online-deployment show --name sklearn-deployment --endpoint $ENDPOINT_NAME \
  --query provisioning_state -o tsv)
[[ $deploy_status == Succeeded ]] || fail "sklearn-deployment provisioning_state is '$deploy_status'"

RESPONSE=$(az ml online-endpoint invoke --name $ENDPOINT_NAME --request-file mlflow/sample-request-sklearn.json)
echo "invoke: $RESPONSE"
[[ $(rounded <<<"$RESPONSE") == "16.000 25.000" ]] || fail "the DataFrame request was answered: $RESPONSE"

ENDPOINT_KEY=$(az ml online-endpoint get-credentials -n $ENDPOINT_NAME -o tsv --query primaryKey)
SCORING_URI=$(az ml online-endpoint show -n $ENDPOINT_NAME -o tsv --query scoring_uri)
answer=$(curl --silent --show-error --request POST "$SCORING_URI" --header "Authorization: Bearer $ENDPOINT_KEY" \
  --header 'Content-Type: application/json' --data @mlflow/sample-request-tensor.json --write-out ' %{http_code}')
echo "curl, a tensor: $answer"
[[ $(rounded <<<"$answer") == "5.000 17.000 200.000" ]] || fail "the tensor request was answered: $answer"
status=$(curl --silent --output /dev/null --write-out '%{http_code}' --request POST "$SCORING_URI" \
  --header "Authorization: Bearer $ENDPOINT_KEY" --header 'Content-Type: application/json' --data '{"data": [[1, 2]]}')
[[ $status == 400 ]] || fail "a request without input_data got HTTP $status, not 400"

# the same model registered, and deployed by reference without traffic
az ml model create --name $AML_MODEL_NAME --version 1 --path ../local/mlflow/model --type mlflow_model
model_type=$(az ml model show --name $AML_MODEL_NAME --version 1 --query type -o tsv)
[[ $model_type == mlflow_model ]] || fail "the registered model's type is '$model_type'"
az ml online-deployment create --name registered --endpoint $ENDPOINT_NAME -f mlflow/registered-deployment.yaml
RESPONSE=$(az ml online-endpoint invoke --name $ENDPOINT_NAME --deployment registered \
  --request-file mlflow/sample-request-sklearn.json)
echo "invoke --deployment registered: $RESPONSE"
[[ $(rounded <<<"$RESPONSE") == "16.000 25.000" ]] || fail "the registered model answered: $RESPONSE"
traffic=$(az ml online-endpoint show -n $ENDPOINT_NAME --query traffic.registered -o tsv)
[[ ${traffic:-0} == 0 ]] || fail "the deployment created without --all-traffic has $traffic % of the traffic"

az ml online-endpoint delete --name $ENDPOINT_NAME --yes --no-wait
az ml model archive --name $AML_MODEL_NAME --version 1
echo "mlflow: done"
