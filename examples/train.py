"""Train the two example models (blue serves model-1, green model-2), as Azure ML's safe-rollout sample does.

    python examples/train.py

A ridge regression on scikit-learn's bundled diabetes data (10 features): nothing is downloaded.
The pickles are committed so the examples work without training; rerun this after changing the
scikit-learn pin in environment/conda.yaml (pickles are tied to the version that wrote them).
"""

from __future__ import annotations

from pathlib import Path

import joblib
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

HERE = Path(__file__).resolve().parent


def main() -> None:
    features, target = load_diabetes(return_X_y=True)
    for folder, alpha in (("model-1", 0.5), ("model-2", 0.1)):
        model = Ridge(alpha=alpha).fit(features, target)
        out = HERE / folder / "model" / "sklearn_regression_model.pkl"
        out.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, out)
        print(f"{out.relative_to(HERE)}: R^2 = {model.score(features, target):.3f}")


if __name__ == "__main__":
    main()
