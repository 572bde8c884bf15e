#!/usr/bin/env bash
# Binary payloads, in the shape of Azure's binary-payloads sample: raw-HTTP scoring scripts (@rawhttp,
# AMLRequest, AMLResponse) behind an endpoint created by name alone. The first takes an image as the request
# body (curl --data-binary) or as a multipart file and answers with image bytes; the deployment is then
# updated to a second script that takes several files and answers JSON. The images are small binary PGMs
# written here, so nothing is downloaded. Assets: binary-payloads/.
set -euo pipefail

# a failed check is reported and the script goes on; it exits 1 at the end with every failed check listed
FAILED=()
fail() { echo "FAILED: $*" >&2; FAILED+=("$*"); }
trap 'echo "FAILED: exit $? at line $LINENO of $0" >&2' ERR
trap '(( ${#FAILED[@]} == 0 )) || { printf "check failed: %s\n" "${FAILED[@]}" >&2; exit 1; }' EXIT

ENDPOINT_NAME=endpt-moe-$RANDOM
BASE_PATH=binary-payloads
DATA=$(mktemp -d)

# a 4 x 3 greyscale image, and the negative the endpoint should answer
pixels=(0 17 34 51 68 85 102 119 136 153 170 255)
{ printf 'P5\n4 3\n255\n'; for v in "${pixels[@]}"; do printf "\\$(printf '%03o' "$v")"; done; } >"$DATA/input.pgm"
{ printf 'P5\n4 3\n255\n'; for v in "${pixels[@]}"; do printf "\\$(printf '%03o' $((255 - v)))"; done; } >"$DATA/expected.pgm"

az ml online-endpoint create -n $ENDPOINT_NAME
endpoint_status=$(az ml online-endpoint show --name $ENDPOINT_NAME --query provisioning_state -o tsv)
[[ $endpoint_status == Succeeded ]] || fail "endpoint provisioning_state is '$endpoint_status'"

az ml online-deployment create -e $ENDPOINT_NAME -f $BASE_PATH/binary-payloads-deployment.yml \
  --set code_configuration.scoring_script=single-file-to-file-score.py \
  --all-traffic

KEY=$(az ml online-endpoint get-credentials -n $ENDPOINT_NAME --query primaryKey -o tsv)
SCORING_URL=$(az ml online-endpoint show -n $ENDPOINT_NAME --query scoring_uri -o tsv)
echo "Scoring url is $SCORING_URL"
az ml online-deployment get-logs -n binary-payload -e $ENDPOINT_NAME
deploy_status=$(az ml online-deployment show --name binary-payload --endpoint $ENDPOINT_NAME \
  --query provisioning_state -o tsv)
[[ $deploy_status == Succeeded ]] || fail "deployment provisioning_state is '$deploy_status'"

# the image as the body
answer=$(curl --silent --show-error -X POST --data-binary @"$DATA/input.pgm" \
  -H "Content-Type: application/octet-stream" -H "Authorization: Bearer $KEY" $SCORING_URL \
  -o "$DATA/output.pgm" --write-out '%{http_code} %{content_type}')
echo "body: $answer, $(wc -c <"$DATA/output.pgm") bytes"
[[ $answer == "200 image/x-portable-graymap" ]] || fail "an image body was answered '$answer'"
cmp "$DATA/output.pgm" "$DATA/expected.pgm" || fail "the answer to an image body is not its negative"

# the image as a multipart file, as Azure's sample sends it
answer=$(curl --silent --show-error -X POST -F "file=@$DATA/input.pgm" -H "Authorization: Bearer $KEY" \
  $SCORING_URL -o "$DATA/output-form.pgm" --write-out '%{http_code} %{content_type}')
echo "multipart: $answer"
[[ $answer == "200 image/x-portable-graymap" ]] || fail "a multipart image was answered '$answer'"
cmp "$DATA/output-form.pgm" "$DATA/expected.pgm" || fail "the answer to a multipart image is not its negative"

# a body that is no image: the script's own 400 comes back as it is
status=$(curl --silent --output /dev/null --write-out '%{http_code}' -X POST --data-binary 'not an image' \
  -H "Authorization: Bearer $KEY" $SCORING_URL)
[[ $status == 400 ]] || fail "a body that is no image got HTTP $status, not the script's 400"

# another script: several files in, JSON out
az ml online-deployment update -e $ENDPOINT_NAME -n binary-payload \
  --set code_configuration.scoring_script="multi-file-to-json-score.py"
answer=$(curl --silent --show-error --fail -X POST -F "file[]=@$DATA/input.pgm" -F "file[]=@$DATA/output.pgm" \
  -H "Authorization: Bearer $KEY" $SCORING_URL)
echo "files: $answer"
[[ $answer == *'"filename": "input.pgm"'*'"filename": "output.pgm"'* ]] || fail "the two files are not described: $answer"
[[ $(grep -o '"width": 4, "height": 3' <<<"$answer" | wc -l) == 2 ]] || fail "the sizes are not 4 x 3: $answer"
traffic=$(az ml online-endpoint show -n $ENDPOINT_NAME --query 'traffic."binary-payload"' -o tsv)
[[ $traffic == 100 ]] || fail "binary-payload has $traffic % of the traffic after the update"

az ml online-endpoint delete -n $ENDPOINT_NAME --no-wait --yes
rm -rf "$DATA"
echo "binary payloads: done"
