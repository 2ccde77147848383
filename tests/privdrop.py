#!/usr/bin/env python3
"""tests/field.sh's -Z check over an strace log (strace -f -e
trace=openat,read,pread64,setgroups,setgid,setuid,setresuid -o LOG):
every input path is opened (successfully) before certtrace's setuid to the
unprivileged uid, and not one byte is read from any of them before it.

    python3 tests/privdrop.py LOG UID PATH...

Prints one line per problem and exits 1, or says what it checked and exits 0.
"""
import re
import sys

log, uid, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
call_re = re.compile(r'^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)')
path_re = re.compile(r'^AT_FDCWD, "((?:[^"\\]|\\.)*)"')

opened = {}      # path -> line number of its open
fd_path = {}     # fd -> input path, while open before the drop
early_reads = []
drop = None
for n, line in enumerate(open(log), 1):
    m = call_re.match(line)
    if not m:
        continue
    call, args, ret = m.group(1), m.group(2), int(m.group(3))
    if call in ('setuid', 'setresuid') and ret == 0 and args.split(',')[0].strip() == uid:
        drop = n
        break
    if call == 'openat' and ret >= 0:
        pm = path_re.match(args)
        if pm and pm.group(1) in paths:
            opened.setdefault(pm.group(1), n)
            fd_path[ret] = pm.group(1)
    elif call in ('read', 'pread64'):
        fd = int(args.split(',')[0])
        if fd in fd_path:
            early_reads.append((n, fd_path[fd]))

problems = []
if drop is None:
    problems.append('no setuid(%s) in the trace' % uid)
for p in paths:
    if p not in opened:
        problems.append('%s: not opened before setuid(%s)' % (p, uid))
for n, p in early_reads:
    problems.append('%s: read at trace line %d, before setuid(%s) at line %s' % (p, n, uid, drop))
for p in problems:
    print('privdrop: ' + p)
if not problems:
    print('privdrop: %d inputs opened before setuid(%s) at trace line %d, none read before it'
          % (len(paths), uid, drop))
sys.exit(1 if problems else 0)
