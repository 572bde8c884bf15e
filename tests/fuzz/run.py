"""Run one fuzz target under atheris (libFuzzer): `python -m tests.fuzz.run TARGET [libFuzzer flags] [DIR ...]`.

mlk's modules are imported under atheris's instrumentation, so coverage of mlk's code guides the fuzzer.
scripts/fuzz runs the targets with sensible flags; this is the single-target entry it starts.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

TARGETS = {
    "http": "tests.fuzz.fuzz_http",
    "router": "tests.fuzz.fuzz_router",
    "yaml": "tests.fuzz.fuzz_yaml",
    "set": "tests.fuzz.fuzz_set",
    "manifest": "tests.fuzz.fuzz_manifest",
    "datapath": "tests.fuzz.fuzz_datapath",
}


def target(name: str) -> ModuleType:
    return importlib.import_module(TARGETS[name])


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python -m tests.fuzz.run {{{','.join(TARGETS)}}} [libFuzzer flags] [corpus dirs]")
    import atheris  # type: ignore[import-untyped]  # no stubs; Linux x86-64 only

    with atheris.instrument_imports(include=["mlk"]):
        module = target(sys.argv[1])
    atheris.Setup([sys.argv[0], *sys.argv[2:]], module.TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
