"""Multi-worker training on one machine: two worker processes on 127.0.0.1 under
`tf.distribute.MultiWorkerMirroredStrategy`, each holding one replica, against one device.

It runs the measurement of `replicas.py` (which `tests/test_distribute.py` runs with MirroredStrategy on
two logical CPUs in CI): for each model, two full-batch training steps from the same weights on one device
and on the two workers, with z ~ q(z|x) replaced by the mean of q so that the numbers are exact; the
losses, the KL and the weights afterwards must agree. It is a script rather than a test because starting two
TensorFlow processes and their gRPC collectives takes about a minute on 2 CPU cores, more than the
CI budget; run it by hand after touching the KL layer, the priors or the training loop:

    python benchmarks/multiworker.py                         # dense_vae, mixture_vae and cvae
    python benchmarks/multiworker.py --models iwae conv_vae --out /tmp/mw

Each worker gets TF_CONFIG = {"cluster": {"worker": ["127.0.0.1:P0", "127.0.0.1:P1"]}, "task": {"type":
"worker", "index": i}}, exactly what a two-machine job would get with real host names (see
docs/reliability.md). Prints a table and writes `multiworker.json` to --out; exits 1 if any model differs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from replicas import TOLERANCE, measure

from zoo._tf import tf

HERE = Path(__file__).resolve().parent


def free_ports(n: int) -> list[int]:
    """n TCP ports that are free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def worker(models: list[str]) -> None:
    """One worker process: TF_CONFIG is set by the launcher. Prints the measurement as one JSON line."""
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    print(json.dumps(measure(models, strategy)), flush=True)


def launch(models: list[str], workers: int, timeout: float) -> list[dict]:
    """Start `workers` worker processes on localhost and return each one's measurement."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(workers)]}
    processes = []
    for index in range(workers):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, __file__, "--worker", "--models", *models]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=timeout)
        if process.returncode != 0:
            raise SystemExit(f"a worker failed with exit code {process.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def compare(result: dict) -> tuple[bool, str]:
    """(agrees, one line) for one model's measurement on one worker."""
    if "error" in result:
        return False, result["error"].splitlines()[0][:100]
    one, many = result["one"], result["two"]
    differences = [
        abs(a - b) / max(1.0, abs(a)) for key in one for a, b in zip(one[key], many[key], strict=True)
    ]
    agrees = max(differences) < TOLERANCE["loss"] and result["weight_difference"] < TOLERANCE["weights"]
    line = (
        f"loss {one['loss'][0]:.4f} -> {many['loss'][0]:.4f} on {result['replicas']} replicas, "
        f"after one step {one['loss'][1]:.4f} / {many['loss'][1]:.4f}, "
        f"weights differ by {result['weight_difference']:.1e}"
    )
    return agrees, line


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["dense_vae", "mixture_vae", "cvae"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.models)
        return 0
    start = time.monotonic()
    results = launch(args.models, args.workers, args.timeout)
    seconds = time.monotonic() - start
    ok = True
    for name in args.models:
        for index, result in enumerate(results):
            agrees, line = compare(result[name])
            ok &= agrees
            print(f"{name:14s} worker {index}: {'same' if agrees else 'DIFFERENT'}: {line}")
    print(f"{args.workers} workers, {len(args.models)} models, {seconds:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"workers": args.workers, "seconds": seconds, "results": results}
    (args.out / "multiworker.json").write_text(json.dumps(record, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
