"""`make bench-sms`: MO -> MT round trips through the simulated SMSC (node-smpp).

The SMSC generates N deliver_sm as fast as their deliver_sm_resp come back
(at most `--window` unanswered), or paced at a fixed rate, and matches every
submit_sm to its MO. In one run, on the same SMSC, with delivery receipts off
and then on:

- our gateway on the keyword path (`HS <code>`, a real dossier lookup), the link
  and one MO worker as separate processes, then the link and two workers;
- Debian's Kannel (bearerbox + smsbox) calling a small aiohttp lookup app through
  `get-url`: the same lookup (dossier API client with its Redis cache, the same
  reply text), what a department would otherwise deploy;
- Kannel answering every MO with a fixed text;

then a paced run at `--rate` MO/s (an operator's usual TPS cap) through our
gateway and through Kannel + the lookup app, receipts on. Prints replies/s,
p50/p99 latency, lost, duplicates and the CPU milliseconds per MO of every
process, and our keyword path's throughput as a ratio to each Kannel's.
`--only rasa` adds the Rasa path (Vietnamese questions; slow).

    .venv/bin/python scripts/bench_sms.py [-n 10000] [--paced-n 3000] [--rate 100]
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
FIXED_TEXT = "Tong dai 8283 da nhan tin nhan cua ban."
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
{reply}
{dlr}
"""
RUNS = ("keyword", "keyword2", "kannel-lookup", "kannel-fixed", "paced", "rasa")
DEFAULT_RUNS = RUNS[:-1]


# -- the lookup app Kannel calls (python scripts/bench_sms.py --lookup-app PORT) ------------------

def lookup_app(port: int) -> None:
    """Serve GET /lookup?text=... (the reply text) and GET /dlr (receipts), as a department would."""
    import redis.asyncio as aioredis
    from aiohttp import web

    from common.dates import local_now
    from common.settings import get_settings
    from common.text import fold
    from content import replies
    from dossier_api.client import DossierApiUnavailable, DossierClient, DossierNotFound
    from sms_gateway.keywords import parse_sms
    from sms_gateway.router import help_text

    async def lifecycle(app: web.Application):
        settings = get_settings()
        app["redis"] = aioredis.from_url(settings.redis_url)
        app["dossiers"] = DossierClient.from_settings(settings, app["redis"])
        yield
        await app["dossiers"].close()
        await app["redis"].close()

    async def lookup(request: web.Request) -> web.Response:
        command = parse_sms(request.query.get("text", ""))
        if command.code is None:
            text = help_text()
        else:
            try:
                dossier = await request.app["dossiers"].get_dossier(command.code)
                text = replies.dossier_status_short(dossier, local_now().date())
            except DossierNotFound:
                text = replies.dossier_not_found(command.code)
            except DossierApiUnavailable:
                text = replies.service_unavailable("1022")
        return web.Response(text=fold(text))

    async def dlr(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/lookup", lookup)
    app.router.add_get("/dlr", dlr)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- driving the SMSC ---------------------------------------------------------------------------

def run_bench(control: str, n: int, texts: list[str], window: int, prefix: str, rate: float = 0,
              stall_s: float = 60.0) -> dict:
    """Drive one benchmark run on the SMSC and return its report."""
    spec = {"n": n, "texts": texts, "window": window, "prefix": prefix, "rate": rate}
    requests.post(f"{control}/bench", json=spec, timeout=10).raise_for_status()
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


def wait_unbound(control: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and requests.get(f"{control}/state", timeout=5).json()["bound"] > 0:
        time.sleep(0.2)


def wait_healthy(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"nothing healthy on {port}")


class Bench:
    """The SMSC, Redis and the stack, shared by every run; each run starts its gateway and stops it."""

    def __init__(self, args: argparse.Namespace, work: Path, runs: set[str]) -> None:
        self.args = args
        self.runs_asked = runs
        self.work = work
        self.procs: list[subprocess.Popen] = []
        self.results: dict[str, dict] = {}
        self.runs = 0

    def start(self) -> None:
        from dossier_api.db import Database
        from dossier_api.seed import seed

        redis_proc, redis_url = start_redis(self.work)
        self.procs.append(redis_proc)
        self.redis_pid = redis_proc.pid
        db = self.work / "dossiers.sqlite3"
        seed(Database(db))
        self.stack = LocalStack(redis_url=redis_url, db_path=db, logs=self.work)
        self.smsc_port, control_port = free_port(), free_port()
        self.control = f"http://127.0.0.1:{control_port}"
        if "rasa" in self.runs_asked:
            print("starting the stack (Rasa takes ~20 s)...", flush=True)
            self.stack.start()
        else:  # the keyword path needs the dossier API only: Rasa and the rest would only take CPU
            self.stack.procs.append(subprocess.Popen([sys.executable, "-m", "dossier_api"], cwd=ROOT,
                                                     env=self.stack.env(), stdout=open(self.work / "api.log", "wb"),
                                                     stderr=subprocess.STDOUT))
            wait_for_port(self.stack.ports["api"])
        self.smsc = subprocess.Popen(
            ["node", str(SMSC_SCRIPT), "--port", str(self.smsc_port), "--control", str(control_port),
             "--log", str(self.work / "smsc.jsonl"), "--system-id", USER, "--password", PASSWORD],
            cwd=ROOT, stdout=open(self.work / "smsc.out", "wb"), stderr=subprocess.STDOUT)
        self.procs.append(self.smsc)
        wait_for_port(control_port)
        self.codes = [d["code"] for d in self.stack.api_session().get(
            f"{self.stack.api_url}/api/v1/dossiers", params={"limit": 200}, timeout=10).json()["items"]]
        self.lookup_port = free_port()
        self.lookup = subprocess.Popen([sys.executable, __file__, "--lookup-app", str(self.lookup_port)],
                                       cwd=ROOT, env=self.stack.env(), stdout=open(self.work / "lookup.log", "wb"),
                                       stderr=subprocess.STDOUT)
        self.procs.append(self.lookup)
        wait_for_port(self.lookup_port)

    def stop(self) -> None:
        stop(self.procs)
        self.stack.stop()

    def common_pids(self) -> dict[str, int]:
        return {"SMSC (node)": self.smsc.pid, "redis": self.redis_pid, "dossier API": self.stack.procs[0].pid}

    def receipts(self, on: bool) -> None:
        requests.post(f"{self.control}/config", json={"receipts": on}, timeout=5).raise_for_status()

    def drive(self, name: str, pids: dict[str, int], texts: list[str], n: int, rate: float = 0) -> None:
        self.runs += 1
        prefix = f"84{self.runs:02d}"  # each run its own numbers: no MO looks like a resend of another run's
        window = 1000 if rate else self.args.window
        print(f"{name}: {n} MOs" + (f" at {rate:g}/s" if rate else ""), flush=True)
        self.results[name] = measured(lambda: run_bench(self.control, n, texts, window, prefix, rate), pids)
        print(line(name, self.results[name]), flush=True)

    # -- our gateway ----------------------------------------------------------------------------

    def ours(self, workers: int, receipts: bool, name: str, n: int, rate: float = 0,
             texts: list[str] | None = None) -> None:
        env = {**self.stack.env(), "SMS_SMSC_PORT": str(self.smsc_port), "SMS_SYSTEM_ID": USER,
               "SMS_PASSWORD": PASSWORD, "SMS_TPS": "100000", "SMS_WINDOW": "50",
               "SMS_REGISTERED_DELIVERY": "true" if receipts else "false", "SMS_RATE_LIMIT_PER_MIN": "1000000",
               "SMS_CONSUMER": "bench"}
        link_port = free_port()
        procs = [self._spawn(["link", "--port", str(link_port)], env, "link")]
        worker_ports = [free_port() for _ in range(workers)]
        procs += [self._spawn(["worker", "--index", str(i), "--port", str(port)], env, f"worker{i}")
                  for i, port in enumerate(worker_ports)]
        try:
            wait_bound(self.control)
            for port in [link_port, *worker_ports]:
                wait_healthy(port)
            pids = {"link": procs[0].pid, **{f"worker {i + 1}": p.pid for i, p in enumerate(procs[1:])},
                    **self.common_pids()}
            self.drive(name, pids, texts or [f"HS {c}" for c in self.codes], n, rate)
        finally:
            stop(procs)
            wait_unbound(self.control)

    def _spawn(self, args: list[str], env: dict, log: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "sms_gateway", *args], cwd=ROOT, env=env,
                                stdout=open(self.work / f"{log}.log", "ab"), stderr=subprocess.STDOUT)

    # -- Kannel ---------------------------------------------------------------------------------

    def kannel(self, lookup: bool, receipts: bool, name: str, n: int, rate: float = 0) -> None:
        admin, smsbox = free_port(), free_port()
        reply = (f'get-url = "http://127.0.0.1:{self.lookup_port}/lookup?text=%a&from=%p"' if lookup
                 else f'text = "{FIXED_TEXT}"')
        dlr = (f'dlr-mask = 3\ndlr-url = "http://127.0.0.1:{self.lookup_port}/dlr?id=%I&state=%d"'
               if receipts else "")
        conf = self.work / "kannel.conf"
        conf.write_text(KANNEL_CONF.format(admin=admin, smsbox=smsbox, dir=self.work, port=self.smsc_port,
                                           user=USER, password=PASSWORD, window=self.args.window, reply=reply,
                                           dlr=dlr))
        bearerbox = subprocess.Popen(["bearerbox", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        procs = [bearerbox]
        try:
            wait_for_port(smsbox)
            procs.append(subprocess.Popen(["smsbox", str(conf)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.STDOUT))
            wait_bound(self.control)
            time.sleep(2)  # smsbox connects to bearerbox
            pids = {"bearerbox": bearerbox.pid, "smsbox": procs[1].pid, **self.common_pids()}
            if lookup or receipts:
                pids["lookup app"] = self.lookup.pid
            self.drive(name, pids, [f"HS {c}" for c in self.codes], n, rate)
        finally:
            stop(procs[::-1])
            wait_unbound(self.control)


def line(name: str, r: dict) -> str:
    return (f"| {name} | {r['n']} | {r['per_second'] or 0:.1f} | {r['p50_ms'] or 0:.1f} | {r['p99_ms'] or 0:.1f} | "
            f"{r['lost']} | {r['duplicates']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="MOs per run")
    parser.add_argument("--paced-n", type=int, default=3_000, help="MOs of a paced run")
    parser.add_argument("--rate", type=float, default=100.0, help="MO/s of the paced runs")
    parser.add_argument("--rasa-n", type=int, default=500, help="MOs for the Rasa path")
    parser.add_argument("--window", type=int, default=10, help="unanswered deliver_sm at most")
    parser.add_argument("--receipts", choices=["off", "on"], action="append",
                        help="delivery receipts of the unpaced runs (repeatable); default: off, then on")
    parser.add_argument("--only", choices=RUNS, action="append", help="run only these (repeatable); default: "
                        + ", ".join(DEFAULT_RUNS))
    parser.add_argument("--lookup-app", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lookup_app:
        return lookup_app(args.lookup_app)
    for tool in ("node", "bearerbox", "smsbox"):
        assert shutil.which(tool), f"{tool} is missing: run `make bench-deps`"
    runs = set(args.only or DEFAULT_RUNS)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, Path(tmp), runs)
        try:
            bench.start()
            for receipts in args.receipts or ["off", "on"]:
                on = receipts == "on"
                bench.receipts(on)
                suffix = f", receipts {receipts}"
                if "keyword" in runs:
                    bench.ours(1, on, f"ours, keyword path, 1 worker{suffix}", args.n)
                if "keyword2" in runs:
                    bench.ours(2, on, f"ours, keyword path, 2 workers{suffix}", args.n)
                if "kannel-lookup" in runs:
                    bench.kannel(True, on, f"Kannel + lookup app (get-url){suffix}", args.n)
                if "kannel-fixed" in runs:
                    bench.kannel(False, on, f"Kannel, fixed text{suffix}", args.n)
            if "paced" in runs:
                bench.receipts(True)
                bench.ours(1, True, f"ours, keyword path, 1 worker, paced {args.rate:g}/s", args.paced_n, args.rate)
                bench.kannel(True, True, f"Kannel + lookup app, paced {args.rate:g}/s", args.paced_n, args.rate)
            if "rasa" in runs:
                bench.receipts(False)
                bench.ours(1, False, "ours, Rasa path (questions), 1 worker", args.rasa_n, texts=QUESTIONS)
        finally:
            bench.stop()
    report(bench.results)


def report(results: dict) -> None:
    print("\n| run | MOs | replies/s | p50 ms | p99 ms | lost | duplicates |\n|---|---|---|---|---|---|---|")
    for name, result in results.items():
        print(line(name, result))
    print()
    for name, result in results.items():
        spent = result["cpu_ms_per_mo"]
        print(f"CPU ms per MO, {name}: " + ", ".join(f"{proc} {ms:.2f}" for proc, ms in spent.items()))
        gateway = sum(ms for proc, ms in spent.items() if proc == "link" or proc.startswith("worker"))
        if gateway:
            print(f"  gateway (link + workers) {gateway:.2f}")
    print()
    for receipts in ("off", "on"):
        ours = [results.get(f"ours, keyword path, {w}, receipts {receipts}", {}).get("per_second")
                for w in ("1 worker", "2 workers")]
        for label, reference in (("Kannel + lookup app", f"Kannel + lookup app (get-url), receipts {receipts}"),
                                 ("Kannel fixed text", f"Kannel, fixed text, receipts {receipts}")):
            theirs = results.get(reference, {}).get("per_second")
            for workers, rate in zip(("1 worker", "2 workers"), ours, strict=True):
                if rate and theirs:
                    print(f"receipts {receipts}: ours ({workers}) / {label} = {rate / theirs:.2f}")
        if all(ours):
            print(f"receipts {receipts}: 2 workers / 1 worker = {ours[1] / ours[0]:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
