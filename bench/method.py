"""How each Done-when figure of `make bench` is measured, and how the figures vary: the prose of
docs/benchmark.md (written by `bench.run --markdown`, and kept in the page between runs)."""

from __future__ import annotations

DONE_WHEN_METHOD = (
    "Each figure is the ratio of two sides measured in the same run, their samples alternating (one of each in "
    "turn, after an untimed round of each), so a busy moment of the machine hits both sides alike.",
    "- **Script task in a playbook, `--cold` / warm.** `xsoar-local test-playbooks --json` on generated content "
    "(one pack with a Python script, `BenchEcho`, and N test playbooks, each a chain of script tasks), once with "
    "warm executors and once with `--cold` and `XSOAR_LOCAL_WARM=off`; the medians of every script task's own "
    "time as the run's JSON reports it (not the process start).",
    "- **War Room command through the server / in process.** `POST /entry/execute/sync` with "
    "`!yoda-speak-translate` to the local server in this process (HTTP on a kept-alive connection, auth, the War "
    "Room and the state's atomic writes included; the command runs in a fork of the warm worker for its docker "
    "image, which joined its cgroup, added the Landlock rules every command shares (worked out once by the "
    "worker) and copied the pages commands write (learned from the worker's first commands) while it waited, in "
    "a folder in memory) against `main()` in process, "
    "cache off, in several runs; the ratio of the medians over every sample, and each run's ratio. The calls are "
    "10 ms apart (the bench's core kept awake), as a War Room user's commands are apart: back to back, what the "
    "server does after an answer (ending the command's process, finishing the next one's preparation) lands on "
    "the next "
    "timed call, the in-process one included. The warm table also gives the same figures back to back.",
    "- **Cold engine child / bare, `make run` / bare.** Fresh processes: the engine child alone "
    "(`run_command`) and `make run`'s command line, against `python -c` importing requests and posting once.",
    "- **`test-playbooks -j 1` / `-j 2`.** The wall time of the whole command on 20 generated playbooks. Each "
    "worker process is forked from the command (no second import), reads the content once, and keeps its warm "
    "executor across the playbooks it runs; its first script task starts that executor. `-j 1` runs the "
    "playbooks in the command's own process, whose warm worker starts while the command imports the toolkit. "
    "The row also gives the cores each run kept busy (its CPU time and its processes', over its wall time): "
    "`-j 1` already uses part of the second core, where each command's next process is forked and prepared "
    "while the command runs. Beside them, in turn with them: two separate `-j 1` commands started together, each "
    "on half the playbooks, which is the most any `-j 2` could give on the machine (nothing handed out, nothing "
    "shared).",
    "- **War Room command with 10,000 incidents / with 10.** Two servers, one holding 10 incidents, one 10,000, "
    "made by the server's own `new_incident` (the records and files `POST /incident` makes) 500 to a "
    "transaction; the same War Room command on each, alternating; medians.",
    "- **JavaScript / Python script command, warm.** Two echo scripts, one in each language, as War Room "
    "commands through the server, alternating; medians.",
)

VARIATION = (
    "Figures vary from run to run, most of all on a shared machine: the other processes take cores at moments "
    "neither side controls. Medians of alternating samples cancel most of it for the per-command figures (the "
    "War Room row shows each run's ratio, which typically spreads by about a fifth around the median on a loaded "
    "machine). `-j 2` / `-j 1` needs a second idle core and cannot reach 2x when other work holds one; it is the "
    "figure to read from a quiet machine. Fresh-process figures (cold child, `make run`) move with the disk "
    "cache and the load more than the warm ones. Compare figures from one run, never across runs."
)
