"""What serves a deployment in place of a user's score.py on mlk's server.

mlflow_score.py  the scoring script Azure generates for a no-code MLflow deployment (run by mlk serve in
                 the environment of the model's own conda file; never imported by mlk)
mlflow_env.py    that deployment's generated pieces — the script as the deployment's code, the environment
                 from the model's MLmodel and conda file — the same on every compute
routes.py        the route adapter in front of a custom container (inference_config): the inference
                 server's /score and GET / mapped to the container's own routes
"""
