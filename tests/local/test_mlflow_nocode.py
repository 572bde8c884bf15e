"""No-code MLflow deployments on the embedded default: an mlflow_model without code_configuration is served
by mlk's MLflow scoring script in an environment built from the model's conda.yaml (mlflow from PyPI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlk.errors import UsageError
from mlk.local import nocode
from tests.conftest import run_mlk

MLFLOW = Path(__file__).resolve().parent / "mlflow"


def _mlk(*args: str) -> str:
    result = run_mlk(*args, cwd=MLFLOW)
    assert result.exit_code == 0, f"mlk {' '.join(args)} → {result.exit_code}\n{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_mlflow_model_deploys_without_code_and_answers_azures_shapes(home: Path) -> None:
    _mlk("online-endpoint", "create", "-f", "endpoint.yml")
    _mlk("online-deployment", "create", "-f", "deployment.yml", "--all-traffic")

    def invoke(body: object) -> object:
        request = home / "request.json"
        request.write_text(json.dumps(body))
        return json.loads(_mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "mlflow-endpoint", "-r", str(request)))

    # the model is y = 10a + b + 5
    split = json.loads((MLFLOW / "sample-request.json").read_text())
    assert [round(v, 6) for v in invoke(split)] == [16.0, 25.0]  # type: ignore[union-attr]
    assert [round(v, 6) for v in invoke({"input_data": [[0.0, 0.0]]})] == [5.0]  # type: ignore[union-attr]
    records = {"dataframe_records": [{"a": 1.0, "b": 2.0}]}  # MLflow's own serving shape
    assert [round(v, 6) for v in invoke(records)] == [17.0]  # type: ignore[union-attr]
    request = home / "bad.json"
    request.write_text('{"data": [[1, 2]]}')
    bad = run_mlk("online-endpoint", "invoke", "-o", "tsv", "-n", "mlflow-endpoint", "-r", str(request), cwd=MLFLOW)
    assert bad.exit_code != 0 and "400" in bad.stderr and "no input_data" in bad.stderr
    logs = _mlk("online-deployment", "get-logs", "-n", "mlflow", "-e", "mlflow-endpoint")
    assert "MLflow model loaded from" in logs


def test_environment_comes_from_the_models_conda_file_with_mlflow_added(tmp_path: Path) -> None:
    folder = tmp_path / "upload" / "model"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors:\n  python_function:\n    env: conda.yaml\n    loader_module: x\n")
    (folder / "conda.yaml").write_text("dependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn==1.7.2\n")
    definition = nocode.environment(tmp_path / "upload", "m")
    assert definition["conda_file"]["dependencies"][1]["pip"] == ["scikit-learn==1.7.2", "mlflow-skinny", "pandas"]
    ready = nocode.environment(MLFLOW / "model", "m")  # it names mlflow-skinny: nothing added
    assert "mlflow-skinny" in ready["conda_file"]["dependencies"][2]["pip"]
    assert ready["conda_file"]["dependencies"][2]["pip"].count("pandas") == 1


def test_a_model_without_mlmodel_or_pyfunc_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no MLmodel file"):
        nocode.environment(tmp_path, "m")
    (tmp_path / "MLmodel").write_text("flavors:\n  keras: {}\n")
    with pytest.raises(UsageError, match="no python_function flavor"):
        nocode.environment(tmp_path, "m")
