"""`make bench-sms`: MO -> MT round trips through the simulated SMSC (node-smpp).

The SMSC generates N deliver_sm as fast as their deliver_sm_resp come back
(at most `--window` unanswered) and matches every submit_sm to its MO. Three
runs on the same SMSC: our gateway on the keyword path (`HS <code>`, a real
dossier lookup), our gateway on the Rasa path (Vietnamese questions), and
Debian's Kannel (bearerbox + smsbox) answering every MO with a fixed text, as
the reference. Prints throughput, p50/p99 latency, lost and duplicates, and
our keyword-path throughput as a ratio to Kannel's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dossier_api.db import Database  # noqa: E402
from dossier_api.seed import seed  # noqa: E402
from scripts.localstack import ROOT, LocalStack, free_port, start_redis, stop, wait_for_port  # noqa: E402

SMSC_SCRIPT = ROOT / "sms_gateway" / "simulator" / "smsc.js"
USER, PASSWORD = "sct", "benchpw"
QUESTIONS = [
    "Lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu?",
    "thu tuc xin giay phep ban buon ruou",
    "nop ho so khuyen mai o dau",
    "xin chào",
    "cảm ơn nhiều",
]
KANNEL_CONF = """
group = core
admin-port = {admin}
admin-password = benchadmin
smsbox-port = {smsbox}
box-allow-ip = "127.0.0.1"
log-file = "{dir}/bearerbox.log"
log-level = 3
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = bench
host = 127.0.0.1
port = {port}
transceiver-mode = true
smsc-username = "{user}"
smsc-password = "{password}"
system-type = ""
enquire-link-interval = 30
max-pending-submits = {window}
log-level = 3

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
log-file = "{dir}/smsbox.log"
log-level = 3

group = sms-service
keyword = default
catch-all = true
max-messages = 1
text = "Tong dai 8283 da nhan tin nhan cua ban."
"""


def run_bench(control: str, n: int, texts: list[str], window: int, stall_s: float = 60.0) -> dict:
    """Drive one benchmark run on the SMSC and return its report."""
    requests.post(f"{control}/bench", json={"n": n, "texts": texts, "window": window}, timeout=10).raise_for_status()
    last, last_change = -1, time.monotonic()
    while True:
        report = requests.get(f"{control}/bench", timeout=10).json()
        if report["replied"] >= n:
            time.sleep(1.0)  # late duplicates would show now
            return requests.get(f"{control}/bench", timeout=10).json()
        if report["replied"] != last:
            last, last_change = report["replied"], time.monotonic()
            print(f"  {report['replied']}/{n} replied", end="\r", flush=True)
        elif time.monotonic() - last_change > stall_s:
            return report  # what never came is lost
        time.sleep(0.5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(run, pids: dict[str, int]) -> dict:
    """``run()``'s report, with each process's CPU milliseconds per MO over the run."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    report = run()
    n = max(report["replied"], 1)
    report["cpu_ms_per_mo"] = {name: 1000 * (cpu_seconds(pid) - before[name]) / n for name, pid in pids.items()}
    return report


def wait_bound(control: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{control}/state", timeout=5).json()["bound"] > 0:
            return
        time.sleep(0.2)
    raise TimeoutError("nothing bound to the SMSC")


def line(name: str, r: dict) -> str:
    return (f"| {name} | {r['n']} | {r['per_second']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['lost']} | {r['duplicates']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000, help="MOs per run (keyword path and Kannel)")
    parser.add_argument("--rasa-n", type=int, default=2_000, help="MOs for the Rasa path")
    parser.add_argument("--window", type=int, default=10, help="unanswered deliver_sm at most")
    parser.add_argument("--only", choices=["keyword", "rasa", "kannel"], action="append",
                        help="run only these (repeatable); default: all three")
    args = parser.parse_args()
    for tool in ("node", "bearerbox", "smsbox"):
        assert shutil.which(tool), f"{tool} is missing: run `make bench-deps`"

    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        redis_proc, redis_url = start_redis(work)
        procs.append(redis_proc)
        db = work / "dossiers.sqlite3"
        seed(Database(db))
        stack = LocalStack(redis_url=redis_url, db_path=db, logs=work)
        smsc_port, control_port = free_port(), free_port()
        control = f"http://127.0.0.1:{control_port}"
        results = {}
        try:
            print("starting the stack (Rasa takes ~20 s)...", flush=True)
            stack.start()
            procs.append(subprocess.Popen(
                ["node", str(SMSC_SCRIPT), "--port", str(smsc_port), "--control", str(control_port),
                 "--log", str(work / "smsc.jsonl"), "--system-id", USER, "--password", PASSWORD],
                cwd=ROOT, stdout=open(work / "smsc.out", "wb"), stderr=subprocess.STDOUT))
            wait_for_port(control_port)
            codes = [d["code"] for d in stack.api_session().get(f"{stack.api_url}/api/v1/dossiers",
                                                      params={"limit": 200}, timeout=10).json()["items"]]
            env = {**stack.env(), "SMS_SMSC_PORT": str(smsc_port), "SMS_SYSTEM_ID": USER, "SMS_PASSWORD": PASSWORD,
                   "SMS_HTTP_PORT": str(free_port()), "SMS_TPS": "100000", "SMS_WINDOW": "50",
                   "SMS_REGISTERED_DELIVERY": "false", "SMS_RATE_LIMIT_PER_MIN": "1000000", "SMS_CONSUMER": "bench"}
            gateway = subprocess.Popen([sys.executable, "-m", "sms_gateway"], cwd=ROOT, env=env,
                                       stdout=open(work / "gateway.log", "wb"), stderr=subprocess.STDOUT)
            wait_bound(control)
            pids = {"gateway": gateway.pid, "SMSC (node)": procs[-1].pid, "redis": redis_proc.pid,
                    "dossier API": stack.procs[0].pid}
            runs = set(args.only or ["keyword", "rasa", "kannel"])
            if "keyword" in runs:
                print(f"our gateway, keyword path: {args.n} x HS <code>", flush=True)
                results["gateway, keyword path (HS <code>)"] = measured(lambda: run_bench(
                    control, args.n, [f"HS {c}" for c in codes], args.window), pids)
            if "rasa" in runs:
                print(f"our gateway, Rasa path: {args.rasa_n} Vietnamese questions", flush=True)
                results["gateway, Rasa path (questions)"] = run_bench(control, args.rasa_n, QUESTIONS, args.window)
            stop([gateway])
            time.sleep(1)
            if "kannel" not in runs:
                return _print(results)

            admin, smsbox = free_port(), free_port()
            conf = work / "kannel.conf"
            conf.write_text(KANNEL_CONF.format(admin=admin, smsbox=smsbox, dir=work, port=smsc_port, user=USER,
                                               password=PASSWORD, window=args.window))
            procs.append(subprocess.Popen(["bearerbox", str(conf)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.STDOUT))
            wait_for_port(smsbox)
            procs.append(subprocess.Popen(["smsbox", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
            wait_bound(control)
            time.sleep(2)  # smsbox connects to bearerbox
            print(f"Kannel (bearerbox + smsbox, fixed reply): {args.n} MOs", flush=True)
            kannel = {"bearerbox": procs[-2].pid, "smsbox": procs[-1].pid, "SMSC (node)": pids["SMSC (node)"]}
            results["Kannel 1.4.5, fixed text"] = measured(lambda: run_bench(
                control, args.n, [f"HS {c}" for c in codes], args.window), kannel)
        finally:
            stop(procs)
            stack.stop()
    _print(results)


def _print(results: dict) -> None:
    print("\n| run | MOs | replies/s | p50 ms | p99 ms | lost | duplicates |\n|---|---|---|---|---|---|---|")
    for name, report in results.items():
        print(line(name, report))
    for name, report in results.items():
        if "cpu_ms_per_mo" in report:
            spent = ", ".join(f"{proc} {ms:.2f}" for proc, ms in report["cpu_ms_per_mo"].items())
            print(f"CPU ms per MO, {name}: {spent}")
    ours = results.get("gateway, keyword path (HS <code>)", {}).get("per_second")
    kannel = results.get("Kannel 1.4.5, fixed text", {}).get("per_second")
    if ours and kannel:
        print(f"\nkeyword path throughput / Kannel throughput = {ours / kannel:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
