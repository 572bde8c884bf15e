"""mlk's command line. `main` is the console script; it stays light so `mlk --help` is instant."""

from __future__ import annotations


def main() -> None:
    from mlk.cli.app import build

    build()(prog_name="mlk")
