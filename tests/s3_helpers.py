"""A real S3 service on 127.0.0.1 for the object-store tests: moto's server mode in a
process of its own, with IAM authentication on (wrong credentials are refused by the
server itself), and a small fault-injecting HTTP proxy in front of it (5xx answers,
throttling, connections cut in the middle of a request)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BUCKET = "zoo-team"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class MotoServer:
    """moto's S3 + IAM server; ``key_id`` / ``secret`` are real credentials it issued."""

    port: int
    process: subprocess.Popen
    key_id: str = ""
    secret: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls) -> MotoServer:
        import boto3

        port = free_port()
        # The first 4 requests (the IAM set-up below) are not authenticated; every later
        # one must be signed with the access key created here.
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = cls(port, proc)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.05)
        iam = boto3.client(
            "iam", endpoint_url=server.url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
        )
        iam.create_user(UserName="zoo")
        key = iam.create_access_key(UserName="zoo")["AccessKey"]
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        arn = iam.create_policy(PolicyName="zoo-s3", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
        iam.attach_user_policy(UserName="zoo", PolicyArn=arn)
        server.key_id, server.secret = key["AccessKeyId"], key["SecretAccessKey"]
        server.client().create_bucket(Bucket=BUCKET)
        return server

    def client(self, endpoint: str | None = None):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=endpoint or self.url,
            region_name=REGION,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Rule:
    """Answer matching requests with ``status``/``code`` (an S3 error), or cut the
    connection (``drop``), ``times`` times (``None``: always)."""

    match: Callable[[str, str, dict], bool]
    status: int = 503
    code: str = "SlowDown"
    drop: bool = False
    times: int | None = 1


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    status: int  # 0: the proxy cut the connection


@dataclass
class FaultProxy:
    upstream: int
    rules: list[Rule] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                body = self._body()
                rule = proxy._rule(self.command, parts.path, query)
                if rule is not None and rule.drop:
                    proxy._seen(self.command, parts.path, query, 0)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if rule is not None:
                    proxy._seen(self.command, parts.path, query, rule.status)
                    xml = (
                        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{rule.code}</Code>'
                        f"<Message>injected by the test proxy</Message></Error>"
                    ).encode()
                    self.send_response(rule.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(xml) if self.command != "HEAD" else 0))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(xml)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                if "chunked" in headers.pop("Transfer-Encoding", "").lower():
                    headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                proxy._seen(self.command, parts.path, query, resp.status)
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in (
                        "connection",
                        "keep-alive",
                        "transfer-encoding",
                        "content-length",
                        "date",
                        "server",
                    ):
                        self.send_header(k, v)
                length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _rule(self, method: str, path: str, query: dict) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if (rule.times is None or rule.times > 0) and rule.match(method, path, query):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def _seen(self, method: str, path: str, query: dict, status: int) -> None:
        with self.lock:
            self.log.append(Seen(method, path, query, status))

    def reset(self) -> None:
        with self.lock:
            self.rules.clear()
            self.log.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def is_part_upload(number_from: int = 1) -> Callable[[str, str, dict], bool]:
    def match(method: str, path: str, query: dict) -> bool:
        return method == "PUT" and "partNumber" in query and int(query["partNumber"][0]) >= number_from

    return match
