"""The cold executor: a fresh `python -m xsoar_local.engine.sandbox` per job (`--cold`, `XSOAR_LOCAL_WARM=off`)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path

from xsoar_local.engine.confine import BOX_VARIABLE, LIMITER, Box, Limits, kill_group
from xsoar_local.engine.entries import LogEntry, crash_entry
from xsoar_local.engine.environment import check_runtime, child_environment
from xsoar_local.engine.executors.base import RequestHandler, RunOptions
from xsoar_local.engine.jobs import Job, JobResult
from xsoar_local.engine.sandbox import CHANNEL_FD_VARIABLE


class ColdExecutor:
    """Runs each job in a new interpreter; nothing is kept between jobs."""

    def run(self, job: Job, on_request: RequestHandler, options: RunOptions) -> JobResult:
        """Run `job` in a fresh child, answering its executeCommand requests over a pipe (see `run_in_child`)."""
        return run_in_child(job, on_request, options)

    def close(self) -> None:
        """Nothing to stop."""


def run_in_child(job: Job, on_request: RequestHandler, options: RunOptions) -> JobResult:
    """Run `job` in a fresh `python -m xsoar_local.engine.sandbox`, inside its box (xsoar_local.engine.confine),
    answering its executeCommand requests.

    The child's stdout and stderr go to files (never pipes), so a chatty child cannot block while the parent waits
    on the request channel; what they hold is the result's `raw_output`.
    """
    check_runtime(Path(job.runtime_dir))
    limits = Limits.from_environment(timeout=options.timeout)
    with LIMITER.slot(limits):  # waiting in line does not count against the time limit
        return _run_in_box(job, on_request, options, limits)


def _run_in_box(job: Job, on_request: RequestHandler, options: RunOptions, limits: Limits) -> JobResult:
    deadline = time.monotonic() + options.timeout
    on_request = LIMITER.lend(on_request)  # nested commands run on this command's place in the queue
    with tempfile.TemporaryDirectory(prefix="xsoar-local-", dir=limits.work_root) as workdir:
        result_path = Path(workdir) / "result.json"
        line = {**job.to_json(), "result_path": str(result_path)}
        requests_read, requests_write = os.pipe()
        environment = child_environment(os.environ, options.env)
        environment[CHANNEL_FD_VARIABLE] = str(requests_write)
        box = Box.for_job(line, workdir, environment, limits).prepare()
        environment[BOX_VARIABLE] = box.to_json()
        with open(Path(workdir) / "stdout", "w+b") as out, open(Path(workdir) / "stderr", "w+b") as err:
            try:
                process = subprocess.Popen(
                    # the sandbox starts inside the box (xsoar_local.engine.confine), in a session of its own
                    [options.python, "-m", "xsoar_local.engine.confine", "xsoar_local.engine.sandbox"],
                    start_new_session=True,
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=err,
                    env=environment,
                    pass_fds=(requests_write,),
                    text=True,
                    # as in a container: files the code writes (fileResult) land in a folder of its own, not ours
                    cwd=workdir,
                )
            except BaseException:
                kill_group(None, box)
                raise
            finally:
                os.close(requests_write)
            try:
                timed_out = _converse(process, requests_read, json.dumps(line, default=str), on_request, deadline)
            finally:
                kill_group(process.pid, box)  # whatever the command started ends with it, even on an error
                process.wait()
            if timed_out:
                return JobResult.crash(crash_entry(timeout_message(options.timeout)))
            out.seek(0)
            err.seek(0)
            stdout_text = out.read().decode("utf-8", "replace")
            stderr_text = err.read().decode("utf-8", "replace")
        result = read_result(result_path, process.returncode, stderr_text)
    # output that bypassed sys.stdout (C extensions, os.write) still reaches the log
    raw = [LogEntry("stdout", text) for text in stdout_text.splitlines()]
    raw += [LogEntry("stderr", text) for text in stderr_text.splitlines()]
    return result.with_values(raw_output=tuple(raw))


def _converse(
    process: subprocess.Popen[str], requests_read: int, line: str, on_request: RequestHandler, deadline: float
) -> bool:
    """Send the job, answer the child's requests until it ends; True when the deadline passed first."""
    assert process.stdin is not None
    timed_out = False
    with os.fdopen(requests_read, "r", encoding="utf-8") as requests:
        try:
            process.stdin.write(line + "\n")
            process.stdin.flush()
            while True:
                # a child of the content may hold the channel open after the sandbox ended: its exit decides
                ready, _, _ = select.select([requests], [], [], min(0.5, max(0.0, deadline - time.monotonic())))
                if not ready:
                    if process.poll() is not None:
                        break
                    if time.monotonic() >= deadline:
                        timed_out = True
                        break
                    continue
                request = requests.readline()
                if not request:
                    break  # the child closed the channel: it has finished
                reply = on_request(json.loads(request))
                process.stdin.write(json.dumps(reply, default=str) + "\n")
                process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the child died mid-conversation; its exit status tells the rest
    with contextlib.suppress(OSError):
        process.stdin.close()
    try:
        process.wait(timeout=0 if timed_out else max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        timed_out = True
    return timed_out


def timeout_message(timeout: float) -> str:
    """What a run that hit its time limit reports."""
    return f"The command did not finish within {timeout:g} seconds; the engine stopped it."


def read_result(path: Path, returncode: int, output: str) -> JobResult:
    """The result file a child wrote, or a crash report when it died before writing it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        tail = "\n".join(output.strip().splitlines()[-5:])
        message = f"The engine's child process ended with status {returncode} without a result. {tail}"
        return JobResult.crash(crash_entry(message.strip()))
    if not isinstance(data, dict):
        return JobResult.crash(crash_entry("The engine's child process wrote a malformed result."))
    return JobResult.from_json(data)
