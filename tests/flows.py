#!/usr/bin/env python3
"""certtrace --debug-flows against tshark: per TCP connection and direction,
the bytes certtrace reassembled plus the bytes it reported as gaps must
equal the stream length tshark computes from sequence numbers (the highest
relative tcp.seq + tcp.len of a segment with data, minus the SYN's one).  Only connections
whose SYN was captured are compared (with it both tools agree on where the
stream starts); retransmissions and reordering must not change the count.

A file under a directory given with --optional (the corpora in ../shared) is
skipped when that directory is not there, with one line per directory saying
so: a plain clone has no ../shared beside it, CI has.  Any other file that is
missing fails.

usage: flows.py [--optional DIR]... CERTTRACE FILE...
"""
import collections
import os
import re
import subprocess
import sys

LINE = re.compile(r"flow (\S+):(\d+) -> (\S+):(\d+) syn=(\w+) c2s=(\d+) s2c=(\d+) "
                  r"gaps=\d+/\d+ gap_bytes=(\d+)/(\d+)")


def tshark_lengths(path):
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y", "tcp", "-T", "fields", "-E", "separator=|",
         "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", "tcp.dstport", "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.flags.syn",
         "-e", "tcp.flags.ack", "-e", "tcp.stream"],
        capture_output=True, text=True, check=False).stdout
    ends = collections.defaultdict(int)
    syn = set()
    for line in out.splitlines():
        f = line.split("|")
        if len(f) < 11 or not f[6]:
            continue
        # the innermost header names the flow (6in4: IPv6 inside IPv4)
        src = (f[1] or f[0]).split(",")[-1]
        dst = (f[4] or f[3]).split(",")[-1]
        key = (src, int(f[2].split(",")[-1]), dst, int(f[5].split(",")[-1]), f[10])
        seq, ln = int(f[6]), int(f[7] or 0)
        if f[8] in ("1", "True"):
            syn.add(key)
        if ln:      # a bare FIN or ACK after the FIN sits one past the data
            ends[key] = max(ends[key], seq + ln - 1)
        else:
            ends.setdefault(key, 0)
    return ends, syn


def present(args):
    """The files to compare, after printing one line per --optional
    directory that is not there (its files are skipped)."""
    optional = []
    while len(args) >= 2 and args[0] == "--optional":
        optional.append(args[1].rstrip("/"))
        args = args[2:]
    binary, files = args[0], args[1:]
    skipped = collections.Counter()
    keep = []
    for f in files:
        home = next((d for d in optional if f.startswith(d + "/")), None)
        if home is not None and not os.path.isdir(home):
            skipped[home] += 1
        else:
            keep.append(f)
    for d in optional:
        if skipped[d]:
            if os.environ.get("CERTTRACE_REQUIRE_SHARED"):
                print(f"flows: {d} not found, and CERTTRACE_REQUIRE_SHARED is set (CI)")
                sys.exit(2)
            print(f"flows: skipped: {d} not found (CI has it); {skipped[d]} captures not compared")
    return binary, keep


def main():
    binary, files = present(sys.argv[1:])
    passed = failed = 0
    for path in files:
        if not os.path.isfile(path):
            print(f"flows: {path}: not found")
            failed += 1
            continue
        ends, syn = tshark_lengths(path)
        by_tuple = collections.defaultdict(list)
        for k, v in ends.items():
            by_tuple[k[:4]].append((k[4], v, k in syn))
        out = subprocess.run([binary, "-r", path, "--debug-flows", "-q"],
                             capture_output=True, text=True, check=False).stdout
        compared = bad = 0
        for line in out.splitlines():
            m = LINE.match(line)
            if not m or m.group(5) != "yes":
                continue
            cip, cport, sip, sport = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
            c2s = int(m.group(6)) + int(m.group(8))
            s2c = int(m.group(7)) + int(m.group(9))
            cs = by_tuple.get((cip, cport, sip, sport), [])
            sc = by_tuple.get((sip, sport, cip, cport), [])
            # one tshark stream per connection; a reused tuple has several
            if len(cs) != 1 or len(sc) > 1:
                continue
            want_c2s = cs[0][1] if cs[0][2] else None
            want_s2c = sc[0][1] if sc and sc[0][2] else 0
            if want_c2s is None:
                continue
            compared += 1
            if (c2s, s2c) != (want_c2s, want_s2c):
                bad += 1
                print(f"flows: {path}: {cip}:{cport} -> {sip}:{sport}: certtrace "
                      f"{c2s}/{s2c}, tshark {want_c2s}/{want_s2c}")
        print(f"flows: {path}: {compared} connections compared, {bad} differ")
        if bad or compared == 0:
            failed += 1
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
