"""mlk's command line. `main` is the console script; it stays light so `mlk --help` is instant."""

from __future__ import annotations


def main() -> None:
    import sys

    from mlk.cli.app import build, expand_multi

    argv = expand_multi(sys.argv[1:])
    build(argv)(args=argv, prog_name="mlk")
