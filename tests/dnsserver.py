"""A real DNS server on loopback (dnslib) that tests fill with records."""

import threading

from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, TLSA, TXT, A
from dnslib.dns import DNSError
from dnslib.server import BaseResolver, DNSLogger, DNSServer


def _key(name: str) -> str:
    return name.rstrip(".").lower()


class ZoneResolver(BaseResolver):
    """Answers from ``records``: {(name, qtype): [rdata, ...]}; others NXDOMAIN.

    ``servfail`` holds names answered with SERVFAIL and ``timeout`` names never answered,
    to test temporary failures; answers for names in ``secure`` carry the AD bit, as a
    validating resolver sets it for DNSSEC-validated data.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list] = {}
        self.servfail: set[str] = set()
        self.timeout: set[str] = set()
        self.secure: set[str] = set()
        self.lock = threading.Lock()

    def add(self, name: str, qtype: str, rdata) -> None:
        with self.lock:
            self.records.setdefault((_key(name), qtype), []).append(rdata)

    def add_txt(self, name: str, *strings: str) -> None:
        # Long TXT values are split in 255-byte strings, as real zones publish them.
        chunks = [s[i : i + 255] for s in strings for i in range(0, len(s), 255)] or [""]
        self.add(name, "TXT", TXT(chunks))

    def add_a(self, name: str, address: str) -> None:
        self.add(name, "AAAA" if ":" in address else "A", (AAAA if ":" in address else A)(address))

    def add_mx(self, name: str, host: str, preference: int = 10) -> None:
        self.add(name, "MX", MX(host, preference))

    def add_cname(self, name: str, target: str) -> None:
        self.add(name, "CNAME", CNAME(target))

    def add_tlsa(self, name: str, usage: int, selector: int, mtype: int, data: bytes) -> None:
        self.add(name, "TLSA", TLSA(usage, selector, mtype, data))

    def clear(self) -> None:
        with self.lock:
            self.records.clear()
            self.servfail.clear()
            self.timeout.clear()
            self.secure.clear()

    def _answers(self, qname: str, qtype: str, depth: int = 0) -> list[RR]:
        answers = self.records.get((qname, qtype))
        if answers:
            return [RR(qname, QTYPE.reverse[qtype], rdata=r, ttl=60) for r in answers]
        cname = self.records.get((qname, "CNAME"))
        if cname and qtype != "CNAME" and depth < 8:
            target = _key(str(cname[0].label))
            rr = RR(qname, QTYPE.CNAME, rdata=cname[0], ttl=60)
            return [rr, *self._answers(target, qtype, depth + 1)]
        return []

    def resolve(self, request, handler):
        reply = request.reply()
        qname = _key(str(request.q.qname))
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            if qname in self.timeout:
                raise DNSError(f"not answering {qname}")  # the client times out
            if qname in self.servfail:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            answers = self._answers(qname, qtype)
            known = any(name == qname for name, _ in self.records)
            reply.header.ad = int(qname in self.secure)
        for rr in answers:
            reply.add_answer(rr)
        if not answers and not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def start_dns_server() -> tuple[DNSServer, ZoneResolver, int]:
    resolver = ZoneResolver()
    logger = DNSLogger(logf=lambda _: None)
    server = DNSServer(resolver, port=0, address="127.0.0.1", logger=logger)
    server.start_thread()
    port = server.server.server_address[1]
    return server, resolver, port
