#!/usr/bin/env python3
"""Time commands against each other, interleaved, and report medians and per-round ratios.

    bench/interleave.py [--rounds N] [--warmup W] LABEL=COMMAND [LABEL=COMMAND ...]

The first command is the subject ("ours"); every other one is compared with it. Each round
runs every command once, in forward order on even rounds and backward on odd ones, so that a
slow spell of a shared machine falls on all of them rather than on one block of runs (which
is what timing each command's runs back to back, as hyperfine does, lets happen). A command
is split like a shell line (shlex) but run without a shell, leading NAME=VALUE words setting
its environment as a shell would; its output goes to /dev/null.

Per command: the median and quartiles of its CPU time (user + system of the child, from
wait4) and wall time. Per compared command: the median and quartiles of the ratios
other / ours taken within each round. Exit status 1 when a command fails (with --ignore-failure: only when it is killed by a signal).

With --json FILE, every timed run is also written to FILE, for a caller's own report:
{"rounds": N, "runs": {LABEL: [{"cpu_ms", "user_ms", "sys_ms", "wall_ms"}, ...]}}, runs in round order
(no peak RSS: a child spawned from this process would report this process's).
"""
import json
import argparse
import os
import shlex
import statistics
import sys
import time


def quartiles(values):
    v = sorted(values)
    return v[len(v) // 4], statistics.median(v), v[(3 * len(v)) // 4]


def run(argv, devnull, ignore_failure=False):
    env = dict(os.environ)
    while argv and "=" in argv[0] and argv[0].split("=", 1)[0].isidentifier():
        name, value = argv[0].split("=", 1)
        env[name] = value
        argv = argv[1:]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env,
                          file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0 and not (ignore_failure and os.WIFEXITED(status)):
        sys.exit(f"interleave: {shlex.join(argv)} failed ({os.waitstatus_to_exitcode(status)})")
    return {
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000,
        "user_ms": usage.ru_utime * 1000,
        "sys_ms": usage.ru_stime * 1000,
        "wall_ms": wall * 1000,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--ignore-failure", action="store_true",
                        help="take a non-zero exit status as a result (rpm -Va's 1 when it finds changes)")
    parser.add_argument("--json", metavar="FILE", help="also write every timed run to FILE")
    parser.add_argument("commands", nargs="+", metavar="LABEL=COMMAND")
    args = parser.parse_args()
    commands = []
    for spec in args.commands:
        label, sep, command = spec.partition("=")
        if not sep:
            parser.error(f"{spec!r} is not LABEL=COMMAND")
        commands.append((label, shlex.split(command)))
    devnull = os.open(os.devnull, os.O_WRONLY)
    cpu = {label: [] for label, _ in commands}
    wall = {label: [] for label, _ in commands}
    runs = {label: [] for label, _ in commands}
    for r in range(args.warmup + args.rounds):
        order = commands if r % 2 == 0 else commands[::-1]
        for label, argv in order:
            one = run(argv, devnull, args.ignore_failure)
            if r >= args.warmup:
                cpu[label].append(one["cpu_ms"])
                wall[label].append(one["wall_ms"])
                runs[label].append(one)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"rounds": args.rounds, "runs": runs}, out)
    ours = commands[0][0]
    width = max(len(label) for label, _ in commands)
    print(f"{args.rounds} interleaved rounds; medians (quartiles) in ms; ratio = other / {ours}, per round")
    for label, _ in commands:
        c25, c50, c75 = quartiles(cpu[label])
        w25, w50, w75 = quartiles(wall[label])
        line = f"  {label:{width}}  CPU {c50:7.2f} ({c25:.2f}-{c75:.2f})  wall {w50:7.2f} ({w25:.2f}-{w75:.2f})"
        if label != ours:
            r25, r50, r75 = quartiles([o / s for o, s in zip(cpu[label], cpu[ours])])
            q25, q50, q75 = quartiles([o / s for o, s in zip(wall[label], wall[ours])])
            line += f"  ratio CPU {r50:4.2f}x ({r25:.2f}-{r75:.2f})  wall {q50:4.2f}x ({q25:.2f}-{q75:.2f})"
        print(line)


if __name__ == "__main__":
    main()
