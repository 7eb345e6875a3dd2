#!/usr/bin/env python3
"""The console's local origin (Python standard library only).

Serves the static console (console/) on 127.0.0.1:PORT, /config.json from the file given
on the command line, and forwards /api/... and /v1/... to the local API (`cargo lambda
watch`, which answers no CORS preflight, so the console must share its origin) and
/cognito/... to cognito-local (the prefix removed). Method, headers and body go through
as they are; the upstream's status, headers and body come back. An upstream that does not
answer gives a 502 with a JSON error body. Static files carry the same
Content-Security-Policy as the AWS deployment, so a page that would break there breaks here.

    scripts/console-server.py --port 9480 --config .local/console-config.json \\
        --api http://127.0.0.1:9400 --cognito http://127.0.0.1:9329
"""

import argparse
import http.client
import json
import mimetypes
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
}
CSP = "default-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
UPSTREAM_TIMEOUT_S = 120


class ConsoleHandler(BaseHTTPRequestHandler):
    server_version = "loyalty-console"
    protocol_version = "HTTP/1.1"
    # Set by main(): the static root, the config file and the upstreams.
    root = ""
    config_file = ""
    api = None
    cognito = None
    verbose = False

    def log_message(self, fmt, *args):  # quiet: only errors, unless --verbose
        if self.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def log_error(self, fmt, *args):
        sys.stderr.write("console-server: %s\n" % (fmt % args))

    def _dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/api/") or path.startswith("/v1/"):
            return self._forward(self.api, self.path, "the API")
        if path == "/cognito" or path.startswith("/cognito/"):
            rest = self.path[len("/cognito"):] or "/"
            return self._forward(self.cognito, rest if rest.startswith("/") else "/" + rest, "cognito-local")
        if self.command not in ("GET", "HEAD"):
            return self._json(405, "method_not_allowed", "Only GET and HEAD for the console's files.")
        if path == "/config.json":
            return self._file(self.config_file, "application/json")
        return self._static(path)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _body(self):
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return None

    def _forward(self, upstream, path, name):
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = upstream.netloc
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port or 80, timeout=UPSTREAM_TIMEOUT_S)
        try:
            conn.request(self.command, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.log_error("%s %s: %s (%s) does not answer: %s", self.command, self.path, name,
                           upstream.geturl(), e)
            return self._json(502, "bad_gateway", f"{name[0].upper()}{name[1:]} does not answer ({upstream.geturl()}).")
        finally:
            conn.close()
        self.send_response(response.status, response.reason)
        for k, v in response.getheaders():
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _static(self, path):
        rel = urllib.parse.unquote(path).lstrip("/") or "index.html"
        full = os.path.realpath(os.path.join(self.root, rel))
        if not (full == self.root or full.startswith(self.root + os.sep)):
            return self._json(404, "not_found", "No such file.")
        if os.path.isdir(full):
            full = os.path.join(full, "index.html")
        # config.json comes only from the file given on the command line.
        if os.path.basename(full) == "config.json":
            return self._json(404, "not_found", "No such file.")
        ctype = mimetypes.guess_type(full)[0] or "application/octet-stream"
        if full.endswith(".js"):
            ctype = "text/javascript"
        return self._file(full, ctype)

    def _file(self, full, ctype):
        try:
            with open(full, "rb") as f:
                data = f.read()
        except OSError:
            return self._json(404, "not_found", "No such file.")
        self.send_response(200)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("text/") else ""))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status, code, message):
        data = json.dumps({"error": {"code": code, "message": message}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="Serves the console and forwards the API and cognito-local.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CONSOLE_PORT", "8080")))
    parser.add_argument("--config", required=True, help="the console's config.json")
    parser.add_argument("--api", required=True, help="the API's base URL, e.g. http://127.0.0.1:9000")
    parser.add_argument("--cognito", required=True, help="cognito-local's base URL, e.g. http://127.0.0.1:9229")
    parser.add_argument("--root", default=os.path.join(here, "..", "console"), help="the console's files")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args()

    ConsoleHandler.root = os.path.realpath(args.root)
    ConsoleHandler.config_file = os.path.realpath(args.config)
    ConsoleHandler.api = urllib.parse.urlsplit(args.api)
    ConsoleHandler.cognito = urllib.parse.urlsplit(args.cognito)
    ConsoleHandler.verbose = args.verbose
    server = ThreadingHTTPServer(("127.0.0.1", args.port), ConsoleHandler)
    server.daemon_threads = True
    print(f"console on http://127.0.0.1:{args.port}/ (API {args.api}, cognito-local {args.cognito})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
