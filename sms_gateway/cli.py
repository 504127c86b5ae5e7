"""Send an SMS to 8283 through the local simulated SMSC and print the reply.

    python -m sms_gateway.cli send 0901234567 "HS 000.00.12.H17-261023-0010"
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import requests

from common.phones import normalize_msisdn
from sms_gateway.simulator.control import SimulatorControl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sms_gateway.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send", help="send one SMS to 8283 and wait for the reply")
    send.add_argument("phone", help="the sender's number, e.g. 0901234567")
    send.add_argument("text", help="the message, e.g. \"HS <mã hồ sơ>\"")
    send.add_argument("--control", default=os.environ.get("SMS_SIM_CONTROL_URL", "http://127.0.0.1:2776"))
    send.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)

    msisdn = normalize_msisdn(args.phone)
    if msisdn is None:
        print(f"Số điện thoại không hợp lệ: {args.phone}", file=sys.stderr)
        return 2
    sim = SimulatorControl(args.control)
    since = time.time()
    try:
        status = sim.send_text(msisdn, args.text)
    except requests.RequestException as exc:
        print(f"Không kết nối được SMSC giả lập ({args.control}): {exc}. Đã chạy `make run` chưa?", file=sys.stderr)
        return 1
    if status != 0:
        print(f"SMSC báo lỗi deliver_sm_resp 0x{status:x}", file=sys.stderr)
        return 1
    reply = sim.wait_reply(msisdn, since, args.timeout)
    if reply is None:
        print("Chưa nhận được trả lời (hết thời gian chờ).", file=sys.stderr)
        return 1
    print(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
