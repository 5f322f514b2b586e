"""Where the time goes: the server under py-spy while the load generator drives it.

    python -m bench.hotspots [--db postgres|sqlite] [--clients 8] [--duration 10] [--hot]

Needs py-spy (a dev tool, not a dependency: ``.venv/bin/pip install py-spy``). Prints the top functions by
inclusive and by own time from the collapsed stacks, and leaves the raw stacks (flamegraph input) in
var/bench-profile.txt.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import seed
from bench.run import ROOT, Server

OUT = ROOT / "var" / "bench-profile.txt"


def summarise(path: Path, top: int, focus: str = "") -> str:
    """Top functions by inclusive and own samples, over the stacks that pass through ``focus``."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [
            f.split(" (")[0] + " " + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] if " (" in f else f
            for f in stack.split(";")
        ]
        if focus and not any(f.startswith(focus + " ") for f in frames):
            continue
        total += n
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "own time:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--hot", action="store_true")
    ap.add_argument("--top", type=int, default=45)
    args = ap.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    OUT.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = seed.create(args.db, "prof", Path(tmp))
        try:
            key = seed.api_key(db.url)
            server = Server(db.url, 1)
            try:
                pid = (
                    next(
                        int(p.name)
                        for p in Path("/proc").iterdir()
                        if p.name.isdigit()
                        and (p / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(server.proc.pid)
                    )
                    if False
                    else server.proc.pid
                )
                spy_proc = subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--format",
                        "raw",
                        "--rate",
                        "250",
                        "--gil",
                        "--nonblocking",
                        "-o",
                        str(OUT),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
                cmd = [
                    sys.executable,
                    "-m",
                    "bench.load",
                    "--port",
                    str(server.port),
                    "--key",
                    key,
                    "--clients",
                    str(args.clients),
                    "--duration",
                    str(args.duration),
                    "--warmup",
                    "1",
                ]
                if args.hot:
                    cmd.append("--hot")
                out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
                print(out.stdout)
                spy_proc.send_signal(signal.SIGINT)
                spy_proc.wait(timeout=30)
            finally:
                server.stop()
        finally:
            db.drop()
    print(summarise(OUT, args.top))
    os.environ.pop("ZAKAZ_DATABASE_URL", None)


if __name__ == "__main__":
    main()
