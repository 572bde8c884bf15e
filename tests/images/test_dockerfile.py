"""The images' Dockerfiles and contexts (pure): shapes, golden text, determinism, identity, failure hints."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from mlk.images import context, dockerfile
from mlk.images.buildlog import BuildLog

GOLDEN = Path(__file__).parent / "golden"
RUNTIME = Path(__file__).parent / "fake-runtime"
UV = Path(__file__)  # any file: the context copies it as the uv binary


@pytest.fixture(autouse=True)
def fake_runtime() -> None:
    (RUNTIME / "server").mkdir(parents=True, exist_ok=True)
    (RUNTIME / "__init__.py").write_text("")
    (RUNTIME / "server" / "__init__.py").write_text("")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MLK_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; MLK_UPDATE_GOLDEN=1 rewrites it"


def test_fast_path_golden() -> None:
    built = dockerfile.fast(
        "mlk-base/python:3.11-bookworm",
        ["numpy==2.2.6", "scikit-learn==1.7.2"],
        ["--index-url", "https://x/simple"],
        "3.11",
        runtime=RUNTIME,
        uv=UV,
        ca=b"-----BEGIN CERTIFICATE-----\n",
    )
    assert built.builder == "fast" and built.buildargs == {"BASE_IMAGE": "mlk-base/python:3.11-bookworm"}
    _golden("fast.Dockerfile", built.dockerfile)
    assert built.files["mlk-build/requirements.txt"] == b"numpy==2.2.6\nscikit-learn==1.7.2\n"


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("pip.Dockerfile", lambda: dockerfile.fast("b", ["a==1"], [], None, runtime=RUNTIME, uv=UV, installer="pip")),
        ("conda.Dockerfile", lambda: dockerfile.conda("b", b"name: x\n", runtime=RUNTIME, uv=UV)),
        ("image.Dockerfile", lambda: dockerfile.runtime_only("b", runtime=RUNTIME, uv=UV)),
    ],
)
def test_other_shapes_golden(name: str, make) -> None:
    built = make()
    _golden(name, built.dockerfile)
    assert "SSL_CERT_FILE" not in built.dockerfile  # no CA given: nothing about it


def test_every_shape_ends_with_mlks_runtime_and_never_holds_model_or_code() -> None:
    for built in (
        dockerfile.fast("b", ["a"], [], None, runtime=RUNTIME, uv=UV),
        dockerfile.conda("b", b"x", runtime=RUNTIME, uv=UV),
        dockerfile.runtime_only("b", runtime=RUNTIME, uv=UV),
    ):
        lines = built.dockerfile.splitlines()
        assert lines[-1].startswith('CMD ["') and '-m", "mlk.server"' in lines[-1]
        assert lines[-2] == "COPY mlk-runtime /opt/mlk/runtime/mlk"
        assert "httptools" in lines[-3] and "3, 11" in lines[-3]  # the Python check comes with the runtime
        copies = [line.split()[1] for line in lines if line.startswith("COPY ")]
        assert copies == ["mlk-build", "mlk-runtime"]  # nothing of the model's or the score.py's
    assert len(dockerfile.fast("b", ["a"], [], None, runtime=RUNTIME, uv=UV).dockerfile.splitlines()) <= 9


def test_context_is_deterministic_and_leaves_caches_out(tmp_path: Path) -> None:
    cache = RUNTIME / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "x.pyc").write_bytes(b"compiled")
    built = dockerfile.fast("b", ["a"], [], None, runtime=RUNTIME, uv=UV)
    first, second = context.tar_bytes(built), context.tar_bytes(built)
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as archive:
        names = archive.getnames()
    assert names[0] == "Dockerfile" and "mlk-runtime/__init__.py" in names
    assert not any("__pycache__" in n for n in names)
    assert context.tree_digest(RUNTIME) == context.tree_digest(RUNTIME)
    (RUNTIME / "server" / "new.py").write_text("x = 1\n")
    try:
        assert context.tree_digest(RUNTIME) != context.tree_digest(tmp_path)
    finally:
        (RUNTIME / "server" / "new.py").unlink()


def _fail(*lines: str, error: str) -> tuple[str, str]:
    log = BuildLog()
    log.feed({"stream": "Step 1/3 : FROM base\n"})
    log.feed({"stream": "Step 2/3 : RUN uv pip install -r requirements.txt\n"})
    for line in lines:
        log.feed({"stream": line + "\n"})
    log.feed({"errorDetail": {"message": error}, "error": error})
    return log.failure()


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        (
            "  × No solution found when resolving dependencies: Because nosuchpkg was not found in the package "
            "registry",
            "does not exist",
        ),
        ("error: invalid peer certificate: UnknownIssuer", "--ca-cert"),
        ("  × No solution found: numpy==1.0 and numpy==2.0 are incompatible", "conflict"),
        ("mlk serves score.py with Python 3.11 or newer; this image has 3.9", "3.11"),
    ],
)
def test_failures_name_the_step_its_last_lines_and_a_hint(output: str, hint: str) -> None:
    message, detail = _fail(
        "Resolved 3 packages", output, error="The command '/bin/sh -c ...' returned a non-zero code: 1"
    )
    assert message.startswith("step 2/3 (RUN uv pip install -r requirements.txt) failed")
    assert output.strip() in detail and "Resolved 3 packages" in detail
    assert hint in detail.split("hint:", 1)[1]
