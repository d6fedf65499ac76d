"""A local news feed server in the published formats: RSS 2.0 (`/rss`) and Atom 1.0 (`/atom`),
with a scripted status per path (e.g. 500) for failure tests. Loopback only."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Market Wire</title><link>https://wire.example/</link><description>markets</description>
<item><title>삼성전자, 3분기 영업이익 급증</title><link>https://wire.example/a1</link>
<description>반도체 호조</description><pubDate>Tue, 08 Oct 2024 08:00:00 +0900</pubDate></item>
<item><title>Apple shares surge after record profit</title><link>https://wire.example/a2</link>
<pubDate>Tue, 08 Oct 2024 14:30:00 GMT</pubDate><category>AAPL</category></item>
<item><title>Fraud probe widens at $TSLA, shares crash</title>
<link>https://wire.example/a3</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>Atom Desk</title><id>urn:uuid:desk</id><updated>2024-10-08T15:00:00Z</updated>
<entry><title>Microsoft beats estimates as cloud sales soar</title>
<link href="https://desk.example/m1"/><id>urn:uuid:m1</id>
<updated>2024-10-08T15:00:00Z</updated><summary>Azure growth</summary></entry>
</feed>"""


class FakeNewsFeeds:
    def __init__(self) -> None:
        self.bodies: dict[str, tuple[int, str, str]] = {
            "/rss": (200, "application/rss+xml; charset=utf-8", RSS),
            "/atom": (200, "application/atom+xml; charset=utf-8", ATOM),
        }
        self.requests: list[str] = []
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeNewsFeeds:
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feeds.requests.append(self.path)
                status, kind, body = feeds.bodies.get(self.path, (404, "text/plain", "no feed"))
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()  # fmt: skip
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
