"""Distributed dropout search: a chief oracle and N workers on 127.0.0.1.

Run (every option not listed here goes to examples/tuning/search.py):
    python examples/tuning/distributed.py --workers 2 --tuner random \\
        --max-trials 8 --epochs 10

KerasTuner's own gRPC mode: each process runs examples/tuning/search.py with
`KERASTUNER_ORACLE_IP=127.0.0.1`, `KERASTUNER_ORACLE_PORT=<a free port>` and
`KERASTUNER_TUNER_ID` = `chief` (it only serves the oracle: its `search`
blocks while it answers the workers) or `tuner0`, `tuner1`, ... (each asks
the chief for a trial, trains it, reports, and exits when the chief answers
STOPPED). Processes run in their own process groups, with logs in
`<directory>/<project>-logs/`.

How the search ends: a worker exits once the oracle has no trial left for
it, after reporting its last trial, so when every worker has exited
cleanly every trial is saved in `<directory>/<project>/`. The chief itself
only leaves its serving loop when no trial is running and every worker has
been told to stop, checking every 20 s; the launcher does not wait for
that: it stops the chief, then reports (as `search.py --report-only`) from
the saved project (results summary, `best_hyperparameters.json`, plot).

A worker that dies (killed, out of memory) leaves its trial "running" in
the oracle, which would then never finish. The launcher restarts it with
the same tuner id (up to `--max-restarts` times): the oracle hands an id
its unfinished trial back, so the trial is retried. Past that limit, once
the other workers are done, the launcher ends the dead worker's trial as
FAILED through the oracle's gRPC service, so the search still completes.
All processes are stopped on every exit path (success, error, timeout,
Ctrl-C).
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEARCH = HERE / "search.py"
sys.path.insert(0, str(HERE))
import search as search_cli  # noqa: E402  (examples/tuning/search.py: argparse only at import)


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, timeout=10.0):
    """Stops `proc` and its process group: SIGTERM, then SIGKILL."""
    if proc.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything left in its group
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


class Launch:
    """The processes of one distributed search (read by `on_poll` hooks)."""

    def __init__(self, search_argv, workers, port, log_dir):
        self.search_argv = list(search_argv)
        self.port = port
        self.log_dir = Path(log_dir)
        self.procs = {}  # tuner id -> live Popen
        self.restarts = {f"tuner{i}": 0 for i in range(workers)}
        self.done = set()  # workers that exited cleanly
        self.dead = set()  # workers past their restarts
        self.pids = []  # every pid started, for the caller to check

    def start(self, tuner_id):
        env = dict(os.environ)
        env.update(
            KERASTUNER_ORACLE_IP="127.0.0.1",
            KERASTUNER_ORACLE_PORT=str(self.port),
            KERASTUNER_TUNER_ID=tuner_id,
        )
        log = open(self.log_dir / f"{tuner_id}.log", "ab")
        try:
            proc = subprocess.Popen(
                [sys.executable, str(SEARCH), *self.search_argv],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own descriptor
        self.procs[tuner_id] = proc
        self.pids.append(proc.pid)
        return proc

    def stop_all(self):
        for proc in self.procs.values():
            stop(proc)


def fail_orphans(port, tuner_ids, timeout=60.0):
    """Ends the unfinished trials of dead workers as FAILED via the chief.

    Called when every live worker has finished: the oracle then has no new
    trial to give, so asking for a trial as a dead worker returns its
    orphaned one (ended here as FAILED) and then STOPPED, which also
    removes the dead id from the chief's list of running tuners.
    """
    import grpc
    from keras_tuner.src import protos  # KerasTuner's own service definitions
    from keras_tuner.src.engine import trial as trial_module

    service, stub_cls = protos.get_service(), protos.get_service_grpc().OracleStub
    failed = []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = stub_cls(channel)
        for tuner_id in tuner_ids:
            for _ in range(100):  # bounded: retries of one trial at most
                response = stub.CreateTrial(
                    service.CreateTrialRequest(tuner_id=tuner_id), timeout=timeout
                )
                trial = trial_module.Trial.from_proto(response.trial)
                if trial.status == trial_module.TrialStatus.STOPPED:
                    break
                if trial.status == trial_module.TrialStatus.IDLE:
                    time.sleep(0.5)
                    continue
                trial.status = trial_module.TrialStatus.FAILED
                trial.message = f"worker {tuner_id} died during the trial"
                with contextlib.redirect_stdout(io.StringIO()):
                    proto = trial.to_proto()  # KerasTuner prints while converting
                stub.EndTrial(service.EndTrialRequest(trial=proto), timeout=timeout)
                failed.append(trial.trial_id)
    return failed


def _poll_workers(launch, max_restarts, say):
    """Restarts (or gives up on) exited workers; returns how many still run."""
    running = 0
    for tuner_id in launch.restarts:
        if tuner_id in launch.done or tuner_id in launch.dead:
            continue
        code = launch.procs[tuner_id].poll()
        if code is None:
            running += 1
        elif code == 0:
            launch.done.add(tuner_id)
        elif launch.restarts[tuner_id] < max_restarts:
            launch.restarts[tuner_id] += 1
            say(
                f"{tuner_id} exited with code {code}; restarting it "
                f"({launch.restarts[tuner_id]}/{max_restarts}): its "
                "unfinished trial is retried"
            )
            launch.start(tuner_id)
            running += 1
        else:
            say(f"{tuner_id} exited with code {code}; no restart left")
            launch.dead.add(tuner_id)
    return running


def _supervise(launch, chief, max_restarts, timeout, poll, on_poll, say):
    """Polls until no worker runs; raises if the chief dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if on_poll is not None:
            on_poll(launch)
        if chief.poll() is not None and launch.done != set(launch.restarts):
            raise RuntimeError(
                f"The chief exited early (code {chief.returncode}); see "
                f"{launch.log_dir / 'chief.log'}"
            )
        if _poll_workers(launch, max_restarts, say) == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"The search did not finish in {timeout:g} s.")
        time.sleep(poll)


def _prepare(search_argv):
    """The log folder and the arguments forwarded to every process."""
    args = search_cli.parse_args(search_argv)
    project_dir = Path(args.directory) / args.project_name
    log_dir = Path(args.directory) / f"{args.project_name}-logs"
    if args.overwrite:
        # Only here: a worker's own overwrite would delete the chief's trials.
        shutil.rmtree(project_dir, ignore_errors=True)
        shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir, [a for a in search_argv if a != "--overwrite"]


def _report(forwarded, verbose):
    """The results, from the saved project (no KERASTUNER_* set here)."""
    if verbose:
        return search_cli.main([*forwarded, "--report-only"])
    with contextlib.redirect_stdout(io.StringIO()):
        return search_cli.main([*forwarded, "--report-only"])


def run(
    search_argv,
    workers=2,
    timeout=1800.0,
    max_restarts=2,
    poll=0.5,
    on_poll=None,
    verbose=True,
):
    """Runs the distributed search; returns the results dict.

    `search_argv`: examples/tuning/search.py arguments (directory, tuner, trials...).
    `on_poll(launch)`: optional hook called at every poll (tests use it to
    kill a worker in the middle of a trial).
    """
    if workers < 1:
        raise ValueError(f"Expected workers >= 1. Received: workers={workers!r}")
    log_dir, forwarded = _prepare(search_argv)
    launch = Launch(forwarded, workers, free_port(), log_dir)
    say = print if verbose else (lambda *a, **k: None)
    failed = []
    try:
        chief = launch.start("chief")
        say(f"chief oracle on 127.0.0.1:{launch.port} (pid {chief.pid})")
        for i in range(workers):
            launch.start(f"tuner{i}")
        say(f"{workers} workers started; logs in {log_dir}")
        _supervise(launch, chief, max_restarts, timeout, poll, on_poll, say)
        if not launch.done:
            raise RuntimeError(f"Every worker died; see the logs in {log_dir}")
        if launch.dead:
            failed = fail_orphans(launch.port, sorted(launch.dead))
            say(f"trials {failed} of dead workers {sorted(launch.dead)} marked FAILED")
    finally:
        launch.stop_all()
    say("search finished; all processes stopped. Report:")
    results = _report(forwarded, verbose)
    results.update(
        workers=workers,
        restarts=dict(launch.restarts),
        dead_workers=sorted(launch.dead),
        failed_trials=failed,
        pids=list(launch.pids),
        logs=str(log_dir),
    )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Other options are passed to examples/tuning/search.py.",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds before everything is stopped",
    )
    parser.add_argument(
        "--max-restarts", type=int, default=2, help="restarts of a worker that dies"
    )
    own, search_argv = parser.parse_known_args(argv)
    try:
        results = run(
            search_argv,
            workers=own.workers,
            timeout=own.timeout,
            max_restarts=own.max_restarts,
        )
    except (RuntimeError, TimeoutError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                k: results[k]
                for k in (
                    "best_hyperparameters",
                    "best_score",
                    "trials",
                    "restarts",
                    "failed_trials",
                )
            },
            indent=2,
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
