"""Train the smallest model there is: the mean of a CSV column, written to the job's model output, with
a param, a metric and an artifact logged to MLflow as any training script does (the cluster's tracking
server: MLFLOW_TRACKING_URI and MLFLOW_RUN_ID come from the job)."""

import argparse
import csv
import json
import os

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--model", required=True)
args = parser.parse_args()
with open(args.data) as handle:
    values = [float(row["value"]) for row in csv.DictReader(handle)]
mean = sum(values) / len(values)
print(f"trained on {len(values)} rows: mean {mean}")
os.makedirs(args.model, exist_ok=True)
with open(os.path.join(args.model, "mean.json"), "w") as out:
    json.dump({"mean": mean}, out)
mlflow.log_param("rows", len(values))
mlflow.log_metric("mean", mean)
mlflow.log_text(json.dumps({"mean": mean}), "summary/mean.json")
