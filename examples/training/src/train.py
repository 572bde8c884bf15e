"""Train a logistic regression on the Iris CSV; log params, metrics and the model with MLflow.

Runs unchanged on Azure ML and on mlk: the job's MLflow run is already open (MLFLOW_RUN_ID), so
`mlflow.start_run()` continues it.
"""

import argparse

import mlflow
import mlflow.sklearn
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

# The environment's packages (conda.yml): listed, MLflow need not infer them for each model it writes,
# which imports the model again in a subprocess (about 15 s a model on 2 cores).
REQUIREMENTS = ["mlflow", "scikit-learn==1.7.2", "pandas"]

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--C", type=float, default=1.0)
parser.add_argument("--model", required=True)
args = parser.parse_args()

with mlflow.start_run():
    frame = pd.read_csv(args.data)
    features, labels = frame.drop(columns=["species"]), frame["species"]
    x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.3, random_state=0)
    mlflow.log_param("C", args.C)
    model = LogisticRegression(C=args.C, max_iter=500).fit(x_train, y_train)
    accuracy = model.score(x_test, y_test)
    mlflow.log_metric("accuracy", accuracy)
    print(f"accuracy: {accuracy:.3f}")
    mlflow.sklearn.log_model(model, name="model", input_example=x_test.head(2), pip_requirements=REQUIREMENTS)
    mlflow.sklearn.save_model(model, args.model, pip_requirements=REQUIREMENTS)
