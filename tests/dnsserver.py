"""A real DNS server on loopback (dnslib) that tests fill with records."""

import threading

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class ZoneResolver(BaseResolver):
    """Answers from ``records``: {(name, qtype): [rdata, ...]}; others NXDOMAIN.

    ``servfail`` holds names answered with SERVFAIL, to test temporary failures.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list] = {}
        self.servfail: set[str] = set()
        self.lock = threading.Lock()

    def add_txt(self, name: str, *strings: str) -> None:
        # Long TXT values are split in 255-byte strings, as real zones publish them.
        chunks = [s[i : i + 255] for s in strings for i in range(0, len(s), 255)] or [""]
        with self.lock:
            self.records.setdefault((name.rstrip(".").lower(), "TXT"), []).append(TXT(chunks))

    def clear(self) -> None:
        with self.lock:
            self.records.clear()
            self.servfail.clear()

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            if qname in self.servfail:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            answers = self.records.get((qname, qtype))
            known = any(name == qname for name, _ in self.records)
        if answers:
            for rdata in answers:
                reply.add_answer(RR(qname, QTYPE.reverse[qtype], rdata=rdata, ttl=60))
        elif not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def start_dns_server() -> tuple[DNSServer, ZoneResolver, int]:
    resolver = ZoneResolver()
    logger = DNSLogger(logf=lambda _: None)
    server = DNSServer(resolver, port=0, address="127.0.0.1", logger=logger)
    server.start_thread()
    port = server.server.server_address[1]
    return server, resolver, port
