#!/usr/bin/env python3
"""A webhook receiver anyone can run: verifies each delivery with the Standard Webhooks
reference library (PyPI `standardwebhooks`), prints its event, answers 204, and counts
each event id once (a retry of a handled id is answered 204 and not printed again).

    scripts/webhook-receiver.py --port 9900 --secret whsec_...
    # then: loyalty-admin webhook add --tenant T --url http://127.0.0.1:9900/hooks
    #       (local stages: LOYALTY_WEBHOOKS_ALLOW_HTTP_LOOPBACK=1)

`--expect N` exits 0 once N distinct events verified (1 on a forged one), for checks.
"""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks import Webhook


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9900)
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (repeat: any verifies)")
    parser.add_argument("--expect", type=int, default=0)
    args = parser.parse_args()
    hooks = [Webhook(s) for s in args.secret]
    seen = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            event = None
            for hook in hooks:
                try:
                    event = hook.verify(body, headers)
                    break
                except Exception:  # noqa: BLE001 - the library raises its own types
                    continue
            if event is None:
                self.send_response(401)
                self.end_headers()
                print("FORGED", headers.get("webhook-id"), file=sys.stderr, flush=True)
                if args.expect:
                    self.server.failed = True
                return
            self.send_response(204)
            self.end_headers()
            if event["id"] not in seen:
                seen.add(event["id"])
                print(json.dumps(event), flush=True)

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", args.port), Handler)
    server.failed = False
    while not args.expect or (len(seen) < args.expect and not server.failed):
        server.handle_request()
    sys.exit(1 if server.failed else 0)


if __name__ == "__main__":
    main()
