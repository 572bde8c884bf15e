"""The training container's launcher: a POSIX shell script that starts the job's processes in the pod.

Azure starts `process_count_per_instance` processes on each instance (torchrun's layout): process i of
the pod whose completion index is NODE_RANK gets RANK = NODE_RANK × N + i and LOCAL_RANK = i, its output
in the pod's log and in `user_logs/std_log_process_<RANK>.txt`. The launcher waits for all of them and
writes the first non-zero exit code (0 when all succeeded) to `exit-code` last: the uploader waits for
that file, then uploads the outputs and exits with the code, so the pod fails as the command did.

The rendezvous the storage-initializer found (rank 0's pod address) wins over the DNS name set in the
environment (see mlk.render.jobs). `$1` is the bound command; MLK_PROCESSES is N.
"""

from __future__ import annotations

PROCESSES_ENV = "MLK_PROCESSES"


def launcher(state_dir: str) -> str:
    """The script (for `sh -c SCRIPT mlk-job COMMAND`), with the pod's state folder."""
    return (
        f"m={state_dir}; "
        'if [ -f "$m/rendezvous.env" ]; then . "$m/rendezvous.env"; export MASTER_ADDR; fi; '
        'mkdir -p "$m/user_logs"; '
        f'n="${{{PROCESSES_ENV}:-1}}"; i=0; '
        'while [ "$i" -lt "$n" ]; do '
        "r=$((NODE_RANK * n + i)); "
        "( RANK=$r; LOCAL_RANK=$i; export RANK LOCAL_RANK; "
        '{ /bin/sh -c "$1"; echo $? > "$m/exit-code.$i"; } 2>&1 | tee "$m/user_logs/std_log_process_$r.txt" ) & '
        "i=$((i + 1)); done; wait; "
        'code=0; i=0; while [ "$i" -lt "$n" ]; do '
        'c=$(cat "$m/exit-code.$i" 2>/dev/null || echo 1); '
        'if [ "$code" = 0 ]; then code=$c; fi; i=$((i + 1)); done; '
        'echo "$code" > "$m/exit-code.part"; mv "$m/exit-code.part" "$m/exit-code"; exit "$code"'
    )
