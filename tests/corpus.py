#!/usr/bin/env python3
"""Corpus comparison: the certificate chains certtrace reports for every real
capture under ../shared/corpus/real must equal what tshark extracts.

For each file, tshark lists every Certificate message (with out-of-order
reassembly and heuristic dissectors on, so TLS on odd ports and reordered
segments are seen); certtrace lists server_chain and client_chain of every
"tls" event.  Each chain is compared as the tuple of the SHA-1s of its DER
certificates, in the order sent, and the two multisets must be equal.
The nDPI second opinion must agree too: no flow nDPI calls TLS without a
handshake found (detection miss), no server leaf read differently.

Empty Certificate messages (a client with no certificate) are left out on
both sides, and so are the chains certtrace reports from a Certificate
message the capture cut short (status "truncated" inside a Certificate):
tshark shows nothing for those, certtrace shows the certificates that did
arrive; they are counted as "partial".

A capture with a TLS key log beside it (NAME.keylog, or a log.txt shared by
the directory, as ssldump's samples have) is read by both tools with it:
tshark -o tls.keylog_file, certtrace --keylog; so TLS 1.3 chains are compared
too.

A difference listed in tests/corpus-known.txt (file, then the reason, with
the evidence) is reported but does not fail: those are cases where tshark is
the one that is wrong, or where the capture holds something neither tool can
see.  Anything else fails.

usage: corpus.py CERTTRACE CORPUS_DIR
"""
import collections
import hashlib
import json
import os
import subprocess
import sys


def keylog_for(path):
    """NAME.keylog beside NAME.pcap, else the directory's log.txt, else None."""
    own = os.path.splitext(path)[0] + ".keylog"
    shared = os.path.join(os.path.dirname(path), "log.txt")
    for k in (own, shared):
        if os.path.isfile(k):
            return k
    return None


def tshark_chains(path):
    keylog = keylog_for(path)
    out = subprocess.run(
        ["tshark", "-n", "-r", path,
         "-o", "tcp.reassemble_out_of_order:TRUE",
         "-o", "tcp.try_heuristic_first:TRUE"] +
        (["-o", "tls.keylog_file:" + keylog] if keylog else []) +
        ["-Y", "tls.handshake.type == 11",
         "-T", "fields", "-e", "tls.handshake.certificate"],
        capture_output=True, text=True, check=False).stdout
    chains = []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        # One line per frame; a frame carrying two Certificate messages
        # would need splitting by message, which tshark's fields do not give.
        certs = [bytes.fromhex(h) for h in line.split(",") if h]
        if certs:
            chains.append(tuple(hashlib.sha1(c).hexdigest() for c in certs))
    return chains


def certtrace_chains(binary, path):
    keylog = keylog_for(path)
    p = subprocess.run([binary, "-r", path, "--format", "jsonl", "--fail-on", "never", "-q"] +
                       (["--keylog", keylog] if keylog else []),
                       capture_output=True, text=True, check=False)
    chains, handshakes, certs, partial = [], 0, set(), 0
    dpi = (0, 0)
    for line in p.stdout.splitlines():
        ev = json.loads(line)
        if ev.get("event") == "certificate":
            certs.add(ev["sha1"])
        if ev.get("event") == "summary":
            dpi = (ev.get("dpi_detection_misses", 0), ev.get("dpi_disagreements", 0))
        if ev.get("event") != "tls":
            continue
        handshakes += 1
        cut = ev.get("status") == "truncated" and "Certificate" in (ev.get("reason") or "")
        for key, side in (("server_chain", "server's"), ("client_chain", "client's")):
            chain = ev.get(key) or []
            if chain and cut and side in ev["reason"]:
                partial += 1
            elif chain:
                chains.append(tuple(c["sha1"] for c in chain))
    return chains, handshakes, len(certs), partial, p.returncode, p.stderr.strip(), dpi


def load_known(path):
    known = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    name, _, reason = line.partition(" ")
                    known[name] = reason.strip()
    return known


def main():
    binary, corpus = sys.argv[1], sys.argv[2]
    if not os.path.isdir(corpus):
        print(f"corpus: {corpus} not found (CI has ../shared beside the clone)")
        return 1
    known = load_known(os.path.join(os.path.dirname(__file__), "corpus-known.txt"))
    files = []
    for root, _, names in os.walk(corpus):
        for n in names:
            if n.endswith((".pcap", ".pcapng")):
                files.append(os.path.join(root, n))
    files.sort()
    passed = failed = known_diff = 0
    total_msgs = total_partial = 0
    print(f"{'file':58} {'hs':>4} {'msgs':>5} {'certs':>5}  tshark  result")
    for path in files:
        rel = os.path.relpath(path, corpus)
        want = tshark_chains(path)
        got, hs, ncerts, partial, rc, err, dpi = certtrace_chains(binary, path)
        total_partial += partial
        total_msgs += len(want)
        # nDPI is the second opinion: a flow it calls TLS where we found no
        # handshake, or a server leaf it read differently, fails the file.
        ok = collections.Counter(want) == collections.Counter(got) and rc in (0, 1) \
            and dpi == (0, 0)
        if ok:
            result = "agree"
            passed += 1
        elif rel in known:
            result = "known: " + known[rel]
            known_diff += 1
            passed += 1
        else:
            missing = collections.Counter(want) - collections.Counter(got)
            extra = collections.Counter(got) - collections.Counter(want)
            result = f"DIFFER (exit {rc}) missing={sum(missing.values())} extra={sum(extra.values())}"
            if dpi != (0, 0):
                result += f" nDPI misses={dpi[0]} disagreements={dpi[1]}"
            if err:
                result += f" stderr: {err[:200]}"
            failed += 1
        if partial:
            result += f" (+{partial} partial)"
        print(f"{rel:58} {hs:4d} {len(got):5d} {ncerts:5d}  {len(want):6d}  {result}")
    print(f"corpus: {len(files)} files, {total_msgs} non-empty Certificate messages per tshark, "
          f"{known_diff} known differences, {total_partial} partial chains from cut Certificate messages")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
