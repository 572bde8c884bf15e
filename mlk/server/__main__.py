"""`python -m mlk.server`: `mlk serve` without the CLI's dependencies, for environments that hold only the
server's (the embedded default's virtual environments, inference images). Same flags as azmlinfsrv."""

from __future__ import annotations

import argparse
import sys

from mlk.errors import MlkError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlk.server", description=__doc__)
    parser.add_argument("--entry_script", "--entry-script", dest="entry_script")
    parser.add_argument("--model_dir", "--model-dir", dest="model_dir")
    parser.add_argument("--port", type=int)
    parser.add_argument("--worker_count", "--worker-count", dest="worker_count", type=int)
    parser.add_argument("--access_control_allow_origins", "--access-control-allow-origins", dest="cors")
    parser.add_argument("--host")
    parser.add_argument("--max-body-size", dest="max_body_size", type=int)
    parser.add_argument("--run-concurrency", dest="run_concurrency", type=int)
    args = parser.parse_args(argv)
    from mlk.server.main import serve
    from mlk.server.settings import from_sources

    try:
        settings = from_sources(
            entry_script=args.entry_script,
            model_dir=args.model_dir,
            port=args.port,
            worker_count=args.worker_count,
            cors_origins=args.cors,
            host=args.host,
            max_body_bytes=args.max_body_size,
            run_concurrency=args.run_concurrency,
        )
        return serve(settings)
    except MlkError as exc:
        print(f"ERROR: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
