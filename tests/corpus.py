#!/usr/bin/env python3
"""Corpus comparison: the certificate chains certtrace reports for every real
capture under each corpus directory given (../shared/corpus/real and
../shared/corpus2/real in CI) must equal what tshark extracts.

For each file, tshark lists every Certificate message; certtrace lists
server_chain and client_chain of every "tls" event.  Each chain is compared as
the tuple of the SHA-1s of its DER certificates, in the order sent, and the
two multisets must be equal.  tshark runs with TCP desegmentation and
out-of-order reassembly on, TLS record and handshake reassembly on, heuristic
dissectors tried first (TLS on odd ports, after STARTTLS and proxies), and
TCP port 3389 decoded as TLS (RDP: Wireshark's RDP dissector only hands over
to TLS when it saw the X.224 exchange, which a capture started late lacks).

The nDPI second opinion must agree too (certtrace runs with --dpi-check): no
flow nDPI calls TLS without a handshake found (detection miss), no server
leaf read differently.

Empty Certificate messages (a client with no certificate) are left out on
both sides, and so are the chains certtrace reports from a Certificate
message the capture cut short (status "truncated" inside a Certificate):
tshark shows nothing for those, certtrace shows the certificates that did
arrive; they are counted as "partial".

A capture with a TLS key log beside it (NAME.keylog, or a log.txt shared by
the directory, as ssldump's samples have) is read by both tools with it:
tshark -o tls.keylog_file, certtrace --keylog; so TLS 1.3 chains are compared
too.

A difference listed in tests/corpus-known.txt is reported but does not fail:
those are cases where tshark (or nDPI) is the one that is wrong, or where the
capture holds something certtrace does not read on purpose.  An entry names
the file by its path below the corpora's common root (corpus/real/...,
corpus2/real/...), then the exact difference it excuses (missing=N extra=N:
chains only tshark shows, only certtrace shows; ndpi_misses=N
ndpi_disagreements=N, 0 when left out), then the reason.  Any other
difference fails, and so does a known file whose difference changed or that
agrees now: either certtrace was fixed and the entry should go, or the entry
says tshark is wrong and certtrace has started doing what tshark does.

A corpus directory that is not there is skipped with one line saying so (a
plain clone has no ../shared beside it; CI has).  Files run in parallel,
JOBS at a time (default: the number of CPUs).

usage: corpus.py [-j JOBS] CERTTRACE CORPUS_DIR...
"""
import argparse
import collections
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import time

TSHARK_OPTS = [
    "-o", "tcp.desegment_tcp_streams:TRUE",
    "-o", "tcp.reassemble_out_of_order:TRUE",
    "-o", "tcp.try_heuristic_first:TRUE",
    "-o", "tls.desegment_ssl_records:TRUE",
    "-o", "tls.desegment_ssl_application_data:TRUE",
    "-d", "tcp.port==3389,tls",
]

# tshark -T fields columns, in this order.
TSHARK_FIELDS = ["frame.number", "tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
                 "ip.dst", "ipv6.dst", "tcp.dstport", "tls.handshake.certificates_length",
                 "tls.handshake.certificate"]


def keylog_for(path):
    """NAME.keylog beside NAME.pcap, else the directory's log.txt, else None."""
    own = os.path.splitext(path)[0] + ".keylog"
    shared = os.path.join(os.path.dirname(path), "log.txt")
    for k in (own, shared):
        if os.path.isfile(k):
            return k
    return None


def last(field):
    """The innermost value of a field a tunnelled frame holds several of."""
    return field.split(",")[-1] if field else ""


class Chain(tuple):
    """SHA-1s of one Certificate message's certificates, with where it was seen
    (compared by the hashes only)."""

    def __new__(cls, sha1s, where):
        self = super().__new__(cls, sha1s)
        self.where = where
        return self


def tshark_chains(path):
    """(chains, problem, note): every non-empty Certificate message tshark
    dissects; problem fails the file, note only explains a difference."""
    keylog = keylog_for(path)
    cmd = ["tshark", "-n", "-r", path] + TSHARK_OPTS + \
        (["-o", "tls.keylog_file:" + keylog] if keylog else []) + \
        ["-Y", "tls.handshake.type == 11", "-T", "fields", "-E", "separator=|"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    chains, problem, note = [], None, None
    err = " ".join(l for l in p.stderr.splitlines()
                   if l.strip() and not l.startswith("Running as user"))
    # 2 is a read error part way (a damaged or cut capture): what came
    # before it still counts.  Anything else means tshark did not read it.
    if p.returncode == 2:
        note = f"tshark exit 2: {err[:200]}"
    elif p.returncode != 0:
        problem = f"tshark exit {p.returncode}: {err[:200]}"
    for line in p.stdout.splitlines():
        f = line.split("|")
        if len(f) != len(TSHARK_FIELDS):
            continue
        frame, stream, ip4s, ip6s, sport, ip4d, ip6d, dport, lengths, hexes = f
        certs = [bytes.fromhex(h) for h in hexes.split(",") if h]
        if not certs:
            continue            # an empty Certificate message
        # tshark's fields are per frame; a frame that completes two non-empty
        # Certificate messages would need splitting by message.  No capture
        # does that today; say so rather than compare a merged chain.
        if sum(1 for n in lengths.split(",") if n and n != "0") > 1:
            problem = f"tshark frame {frame} holds several Certificate messages; " \
                      "corpus.py cannot split them"
        where = f"frame {frame} tcp.stream {stream} " \
                f"{last(ip6s) or last(ip4s)}:{last(sport)} -> {last(ip6d) or last(ip4d)}:{last(dport)}"
        chains.append(Chain(tuple(hashlib.sha1(c).hexdigest() for c in certs), where))
    return chains, problem, note


class Result:
    pass


def certtrace_run(binary, path, threads):
    keylog = keylog_for(path)
    # --dpi-check: nDPI on every flow, so its detection misses are counted.
    p = subprocess.run([binary, "-r", path, "--format", "jsonl", "--fail-on", "never", "-q",
                        "--dpi-check", "--threads", str(threads)] +
                       (["--keylog", keylog] if keylog else []),
                       capture_output=True, text=True, check=False)
    r = Result()
    r.stdout = p.stdout
    r.chains, r.handshakes, r.partial, r.rc, r.err = [], 0, 0, p.returncode, p.stderr.strip()
    certs = set()
    r.dpi = (0, 0)
    for line in p.stdout.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            r.err = ("not JSON: " + line[:100] + " " + r.err).strip()
            continue
        if ev.get("event") == "certificate":
            certs.add(ev["sha1"])
        if ev.get("event") == "summary":
            r.dpi = (ev.get("dpi_detection_misses", 0), ev.get("dpi_disagreements", 0))
        if ev.get("event") != "tls":
            continue
        r.handshakes += 1
        cut = ev.get("status") == "truncated" and "Certificate" in (ev.get("reason") or "")
        c, s = ev.get("client") or {}, ev.get("server") or {}
        for key, side, src, dst in (("server_chain", "server's", s, c),
                                    ("client_chain", "client's", c, s)):
            chain = ev.get(key) or []
            if chain and cut and side in ev["reason"]:
                r.partial += 1
            elif chain:
                where = f"{key} {src.get('ip')}:{src.get('port')} -> {dst.get('ip')}:{dst.get('port')}"
                r.chains.append(Chain(tuple(x["sha1"] for x in chain), where))
    r.ncerts = len(certs)
    return r


def compare(binary, path):
    """Both tools over one file: tshark's chains, problem and note, certtrace's
    result, seconds taken."""
    t0 = time.monotonic()
    want, problem, note = tshark_chains(path)
    got = certtrace_run(binary, path, 1)
    # The output must not depend on the number of workers: with 2 the
    # reader owns a quarter of the flows, with 3 two worker threads share
    # them (more than this machine's cores).
    got.threads_differ = [n for n in (2, 3)
                          if certtrace_run(binary, path, n).stdout != got.stdout]
    return want, problem, note, got, time.monotonic() - t0


# What a corpus-known.txt entry pins, in the order written.
KNOWN_KEYS = ("missing", "extra", "ndpi_misses", "ndpi_disagreements")


def load_known(path):
    """{file: (difference, reason)} from corpus-known.txt; difference is a
    tuple in KNOWN_KEYS order, a key left out meaning 0."""
    known = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            diff, i = {}, 1
            while i < len(words) and "=" in words[i]:
                k, _, v = words[i].partition("=")
                if k not in KNOWN_KEYS or not v.isdigit():
                    sys.exit(f"{path}:{n}: unknown or bad {words[i]!r} (keys: {', '.join(KNOWN_KEYS)})")
                diff[k] = int(v)
                i += 1
            if "missing" not in diff or "extra" not in diff or i == len(words):
                sys.exit(f"{path}:{n}: want 'FILE missing=N extra=N [ndpi_misses=N] "
                         f"[ndpi_disagreements=N] reason', got: {line}")
            d = tuple(diff.get(k, 0) for k in KNOWN_KEYS)
            if not any(d):
                sys.exit(f"{path}:{n}: an entry that excuses no difference: {line}")
            known[words[0]] = (d, " ".join(words[i:]))
    return known


def show_diff(d):
    return " ".join(f"{k}={v}" for k, v in zip(KNOWN_KEYS, d) if v or k in ("missing", "extra"))


def short(chain):
    return "[" + " ".join(h[:12] for h in chain) + "]"


def chain_lines(label, chains, wc, gc):
    """One line per distinct chain in chains that one tool shows more often
    than the other: both counts, and where the first few were seen."""
    lines, seen = [], collections.OrderedDict()
    for c in chains:
        seen.setdefault(c, []).append(c.where)
    for c, wheres in seen.items():
        if wc[c] == gc[c]:
            continue
        at = "; ".join(wheres[:3]) + (f"; and {len(wheres) - 3} more" if len(wheres) > 3 else "")
        lines.append(f"{label} chain of {len(c)} {short(c)} tshark {wc[c]}, certtrace {gc[c]}: {at}")
    return lines


def run_corpus(binary, corpus, known, jobs):
    """Compares every capture under corpus; returns (failures, known keys seen)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(corpus)))
    files = []
    for d, _, names in os.walk(corpus):
        for n in names:
            if n.endswith((".pcap", ".pcapng")):
                files.append(os.path.join(d, n))
    files.sort()
    t0 = time.monotonic()
    # Biggest first, so a large capture does not start last and run alone.
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = {f: pool.submit(compare, binary, f)
                for f in sorted(files, key=os.path.getsize, reverse=True)}
        results = {f: fut.result() for f, fut in futs.items()}
    wall = time.monotonic() - t0

    failures, used = [], set()
    n_msgs = n_agree = n_partial = n_known = 0
    print(f"{'file':58} {'hs':>4} {'msgs':>5} {'certs':>5}  tshark  result")
    for path in files:
        rel = os.path.relpath(path, corpus)
        key = os.path.relpath(path, root)
        want, problem, note, got, secs = results[path]
        n_partial += got.partial
        n_msgs += len(want)
        wc, gc = collections.Counter(want), collections.Counter(got.chains)
        n_agree += sum((wc & gc).values())
        diff = (sum((wc - gc).values()), sum((gc - wc).values())) + got.dpi
        # Exit 2 with a read error is DESIGN's "cannot be read to its end,
        # the report still covers what was read": the chains still count.
        # The reader names the packet and the byte offset where it stopped.
        read_stop = re.search(r"packet \d+ at byte \d+", got.err) is not None
        ran = (got.rc in (0, 1, 3) or (got.rc == 2 and read_stop)) and not problem
        details = []
        if got.threads_differ:
            ns = " and ".join(str(n) for n in got.threads_differ)
            failures.append((key, f"DIFFER with --threads {ns}",
                             [f"the output of --threads {ns} differs from --threads 1's"]))
            print(f"{rel:58} DIFFER: the output of --threads {ns} differs from --threads 1's")
        if key in known:
            used.add(key)
        if ran and diff == (0, 0, 0, 0) and key not in known:
            result = "agree"
        elif ran and key in known and diff == known[key][0]:
            n_known += 1
            result = "known: " + known[key][1]
        else:
            result = "DIFFER " + show_diff(diff)
            if not ran and got.rc not in (0, 1):
                result += f" certtrace exit {got.rc}"
            if key in known:
                result += f"; corpus-known.txt expects {show_diff(known[key][0])}"
                if diff == (0, 0, 0, 0):
                    result += " but the tools agree (certtrace fixed: delete the entry; " \
                              "entry says tshark is wrong: certtrace misses what tshark misses)"
            details += chain_lines("more in tshark:   ", [c for c in want if wc[c] > gc[c]], wc, gc)
            details += chain_lines("more in certtrace:", [c for c in got.chains if gc[c] > wc[c]],
                                   wc, gc)
            if got.dpi[0]:
                details.append(f"nDPI calls {got.dpi[0]} flow(s) TLS where certtrace found "
                               "no handshake (certtrace -v names them)")
            if got.dpi[1]:
                details.append(f"nDPI read {got.dpi[1]} server leaf(s) differently "
                               "(certtrace -v names them)")
            details += [p for p in (problem, note) if p]
            failures.append((key, result, details))
        # A read error certtrace survived is worth seeing even where the
        # chains agree (a pcapng it could only read part of, say).
        if got.err:
            details.append("certtrace stderr: " + got.err[:300])
        if got.partial:
            result += f" (+{got.partial} partial)"
        print(f"{rel:58} {got.handshakes:4d} {len(got.chains):5d} {got.ncerts:5d}  "
              f"{len(want):6d}  {result}")
        for d in details:
            print(f"    {d}")
    same = sum(1 for f in files if not results[f][3].threads_differ)
    agree_files = len(files) - len(failures) - n_known
    slow = max(files, key=lambda f: results[f][4]) if files else None
    print(f"corpus: {n_agree}/{n_msgs} Certificate messages agree in {corpus}: "
          f"{len(files)} files, {agree_files} agree, {n_known} known differences, "
          f"{len(failures)} differ; {n_partial} partial chains from cut Certificate messages; "
          f"output byte-identical with --threads 1, 2 and 3 on {same}/{len(files)} files; "
          f"{wall:.0f}s with {jobs} jobs" +
          (f" (slowest {os.path.relpath(slow, corpus)}, {results[slow][4]:.1f}s)" if slow else ""))
    return failures, used


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("JOBS", 0)) or
                    os.cpu_count() or 1)
    ap.add_argument("certtrace")
    ap.add_argument("corpora", nargs="+")
    a = ap.parse_args()
    known = load_known(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "corpus-known.txt"))
    failures, used, ran = [], set(), []
    for corpus in a.corpora:
        if not os.path.isdir(corpus):
            if os.environ.get("CERTTRACE_REQUIRE_SHARED"):
                print(f"corpus: {corpus} not found, and CERTTRACE_REQUIRE_SHARED is set (CI)")
                sys.exit(2)
            print(f"corpus: skipped: {corpus} not found (CI has it)")
            continue
        f, u = run_corpus(a.certtrace, corpus, known, a.jobs)
        failures += f
        used |= u
        ran.append(os.path.basename(os.path.dirname(os.path.abspath(corpus))))
    # An entry for a corpus that ran but naming no file in it is a typo or a
    # file that went away.
    for key in sorted(known):
        if key.split("/")[0] in ran and key not in used:
            print(f"corpus: corpus-known.txt names {key}, which is not in the corpus")
            failures.append((key, "stale entry", []))
    if failures:
        print(f"corpus: FAILED, {len(failures)} files differ:")
        for key, result, details in failures:
            print(f"  {key}: {result}")
            for d in details:
                print(f"      {d}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
