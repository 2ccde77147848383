#!/usr/bin/env python3
"""make test-ecs: certtrace --format ecs against the Elastic Common Schema.

Runs certtrace --format ecs on every sample capture in pcaps/ (with its
.args/.env, and every NAME@VARIANT, as tests/golden.sh does), on a few
runs with --phone-log, --baseline and --cert, and on every capture of the
real-world corpora when they are there (../shared/corpus*/real: certificates
of every shape), then checks every document:
each field, as a flattened dotted path, is in ECS's fields.csv
(../shared/ecs/fields.csv, beside the checkout) or under "certtrace.", and
its JSON type is the one the csv's Type column gives (every ECS field may
hold an array of its type).  A certtrace. field has one JSON kind in every
document (Elasticsearch maps it by the first it sees).  The categorization fields take ECS's allowed
values, ecs.version is the csv's version, and no ECS field is null.

Also, always (no csv needed):
  - the checker itself on a small field table and documents that must pass
    or fail (a made-up field, a string port, a bad address, a bad date, ...),
    so a checker that accepts everything fails the suite;
  - one golden: pcaps/seed-issuer-mismatch.pcap against
    pcaps/expected/seed-issuer-mismatch.ecs.jsonl (--update rewrites it).

Without the csv the schema check prints "skipped" and passes, unless
CERTTRACE_REQUIRE_SHARED is set (CI), where it fails.
"""
import argparse
import concurrent.futures
import csv
import datetime
import io
import ipaddress
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PCAPS = os.path.join(ROOT, "pcaps")
FIELDS = "../shared/ecs/fields.csv"
GOLDEN = "seed-issuer-mismatch"

STRING_TYPES = {"keyword", "wildcard", "constant_keyword", "text", "match_only_text"}
INT_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
NUMBER_TYPES = {"float", "double", "scaled_float", "half_float"}
OBJECT_TYPES = {"object", "flattened", "nested"}

# ECS categorization fields: their allowed values (ECS 9.x,
# ecs-allowed-values-event-*).  fields.csv does not list them.
ALLOWED = {
    "event.kind": {"alert", "asset", "enrichment", "event", "metric", "state",
                   "pipeline_error", "signal"},
    "event.category": {"api", "authentication", "configuration", "database", "driver",
                       "email", "file", "host", "iam", "intrusion_detection", "library",
                       "malware", "network", "package", "process", "registry", "session",
                       "threat", "vulnerability", "web"},
    "event.type": {"access", "admin", "allowed", "change", "connection", "creation",
                   "deletion", "denied", "device", "end", "error", "group", "indicator",
                   "info", "installation", "protocol", "start", "user"},
    "event.outcome": {"failure", "success", "unknown"},
}

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def load_fields(f):
    """{dotted name: (type, normalization)} and the ECS version, from fields.csv."""
    rows = csv.DictReader(f)
    need = {"ECS_Version", "Field", "Type", "Normalization"}
    if not need <= set(rows.fieldnames or ()):
        raise ValueError(f"fields.csv: columns {sorted(need)} expected, "
                         f"header is {rows.fieldnames}")
    fields, versions = {}, set()
    for row in rows:
        fields[row["Field"]] = (row["Type"], row["Normalization"])
        versions.add(row["ECS_Version"])
    if len(versions) != 1:
        raise ValueError(f"fields.csv: one ECS_Version expected, found {sorted(versions)}")
    return fields, versions.pop()


def is_date(v):
    if not isinstance(v, str) or not DATE_RE.match(v):
        return False
    s = v.replace("Z", "+00:00")
    # Python's fromisoformat takes at most 6 fraction digits.
    s = re.sub(r"\.(\d{6})\d+", r".\1", s)
    try:
        datetime.datetime.fromisoformat(s)
    except ValueError:
        return False
    return True


def is_ip(v):
    if not isinstance(v, str):
        return False
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def type_ok(ftype, v):
    """Whether one (non-array) JSON value fits the ECS type."""
    if ftype in STRING_TYPES:
        return isinstance(v, str)
    if ftype in INT_TYPES:
        return isinstance(v, int) and not isinstance(v, bool)
    if ftype in NUMBER_TYPES:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if ftype == "date":
        return is_date(v)
    if ftype == "ip":
        return is_ip(v)
    if ftype == "boolean":
        return isinstance(v, bool)
    if ftype in OBJECT_TYPES:
        return isinstance(v, dict)
    if ftype == "geo_point":
        return isinstance(v, (dict, str, list))
    return isinstance(v, str)     # binary and the rest: a string in the source


def check_doc(doc, fields, version):
    """The problems of one document, as strings (empty: it conforms)."""
    errs = []

    def leaf(path, v):
        if path == "certtrace" or path.startswith("certtrace."):
            return
        if path not in fields:
            errs.append(f"{path}: not an ECS field (nor under certtrace.)")
            return
        ftype, _norm = fields[path]
        values = v if isinstance(v, list) else [v]
        for x in values:
            if x is None:
                errs.append(f"{path}: null (leave the field out)")
            elif isinstance(x, list):
                errs.append(f"{path}: an array inside an array")
            elif not type_ok(ftype, x):
                errs.append(f"{path}: {json.dumps(x)[:60]} is not of ECS type {ftype}")
            elif path in ALLOWED and x not in ALLOWED[path]:
                errs.append(f"{path}: {x!r} is not an allowed value")

    def walk(path, v):
        if path == "certtrace" or path.startswith("certtrace."):
            return
        if isinstance(v, dict) and not (path in fields and fields[path][0] in OBJECT_TYPES):
            if path in fields:
                errs.append(f"{path}: an object where ECS has {fields[path][0]}")
                return
            for k, x in v.items():
                walk(f"{path}.{k}" if path else k, x)
            return
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v) and \
                path not in fields:
            for x in v:               # an array of objects: their fields
                walk(path, x)
            return
        leaf(path, v)

    if not isinstance(doc, dict):
        return ["not a JSON object"]
    walk("", doc)
    flat = flatten(doc)
    for need in ("@timestamp", "ecs.version", "event.kind", "event.category",
                 "event.type", "event.dataset"):
        if need not in flat:
            errs.append(f"{need}: missing")
    if flat.get("ecs.version") not in (None, version):
        errs.append(f"ecs.version: {flat['ecs.version']!r}, fields.csv is {version}")
    return errs


def json_kind(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    return "null" if v is None else "array"


def kinds_of(v, path, out):
    """Each path under certtrace. and the JSON kinds its values take, arrays
    looked into: Elasticsearch maps a field by the first value it sees, and
    refuses a later document whose value there is of another kind."""
    if isinstance(v, list):
        for x in v:
            kinds_of(x, path, out)
    elif isinstance(v, dict):
        out.setdefault(path, set()).add("object")
        for k, x in v.items():
            kinds_of(x, f"{path}.{k}", out)
    elif v is not None:
        out.setdefault(path, set()).add(json_kind(v))


def flatten(doc, path="", out=None):
    out = {} if out is None else out
    for k, v in doc.items():
        p = f"{path}.{k}" if path else k
        if isinstance(v, dict):
            flatten(v, p, out)
        else:
            out[p] = v
    return out


# ---- the checker checked ----------------------------------------------------------

MINI_CSV = """ECS_Version,Indexed,Field_Set,Field,Type,Level,Normalization,Example,Description
9.4.0,true,base,@timestamp,date,core,,2016-05-23T08:05:34.853Z,Date/time.
9.4.0,true,base,labels,object,core,,,Labels.
9.4.0,true,ecs,ecs.version,keyword,core,,1.0.0,ECS version.
9.4.0,true,event,event.kind,keyword,core,,alert,Kind.
9.4.0,true,event,event.category,keyword,core,array,network,Category.
9.4.0,true,event,event.type,keyword,core,array,info,Type.
9.4.0,true,event,event.dataset,keyword,core,,x.y,Dataset.
9.4.0,true,event,event.severity,long,core,,7,Severity.
9.4.0,true,server,server.ip,ip,core,,,IP.
9.4.0,true,server,server.port,long,core,,,Port.
9.4.0,true,tls,tls.established,boolean,extended,,,Established.
9.4.0,true,tls,tls.server.x509.alternative_names,keyword,extended,array,,SAN.
9.4.0,true,event,event.risk_score,float,core,,,Risk.
"""


def self_test():
    """The checker passes a good document and fails each bad one."""
    fields, version = load_fields(io.StringIO(MINI_CSV))
    good = {"@timestamp": "2012-10-19T14:50:27.214000Z", "ecs": {"version": "9.4.0"},
            "event": {"kind": "alert", "category": ["network"], "type": ["info"],
                      "dataset": "certtrace.finding", "severity": 73, "risk_score": 47.5},
            "server": {"ip": "2001:db8::1", "port": 443}, "labels": {"any": "thing"},
            "tls": {"established": True, "server": {"x509": {"alternative_names": ["a", "b"]}}},
            "certtrace": {"anything": [None, {"x": 1}]}}
    bad = {
        "a made-up field": {"tls": {"server": {"bogus": "x"}}},
        "a port as a string": {"server": {"port": "443"}},
        "a bool as a long": {"event": {"severity": True}},
        "a bad address": {"server": {"ip": "999.1.1.1"}},
        "a date without a zone": {"@timestamp": "2012-10-19T14:50:27"},
        "an impossible date": {"@timestamp": "2012-02-30T14:50:27Z"},
        "a string as a boolean": {"tls": {"established": "true"}},
        "a null": {"server": {"port": None}},
        "a nested array": {"tls": {"server": {"x509": {"alternative_names": [["a"]]}}}},
        "an object for a keyword": {"event": {"dataset": {"a": "b"}}},
        "a kind ECS does not allow": {"event": {"kind": "finding"}},
        "a category ECS does not allow": {"event": {"category": ["tls"]}},
        "another ECS version": {"ecs": {"version": "8.0.0"}},
        "no @timestamp": {"@timestamp": ...},
    }
    failures = []
    errs = check_doc(good, fields, version)
    if errs:
        failures.append(f"the good document was refused: {errs}")
    for what, change in bad.items():
        doc = json.loads(json.dumps(good))
        merge(doc, change)
        if not check_doc(doc, fields, version):
            failures.append(f"a document with {what} was accepted")
    kinds = {}
    for v in ({"a": "x", "b": [{"c": 1}]}, {"a": "y", "b": [{"c": "1"}]}):
        kinds_of(v, "certtrace", kinds)
    if kinds.get("certtrace.a") != {"string"} or kinds.get("certtrace.b.c") != {"number", "string"}:
        failures.append(f"kinds_of: {kinds}")
    return failures


def merge(doc, change):
    for k, v in change.items():
        if v is ...:
            doc.pop(k, None)
        elif isinstance(v, dict) and isinstance(doc.get(k), dict):
            merge(doc[k], v)
        else:
            doc[k] = v


# ---- runs -------------------------------------------------------------------------

def samples():
    """(name, argv after the binary, env, exit statuses that are fine) for every
    sample and variant, as golden.sh does."""
    runs = []
    names = sorted(f for f in os.listdir(PCAPS) if f.endswith((".pcap", ".pcapng")))
    for f in names:
        base = f.rsplit(".", 1)[0]
        variants = {base}
        for g in os.listdir(PCAPS):
            if g.startswith(base + "@") and g.endswith((".args", ".env")):
                variants.add(g.rsplit(".", 1)[0])
        for name in sorted(variants):
            args, env = [], {}
            a = os.path.join(PCAPS, name + ".args")
            e = os.path.join(PCAPS, name + ".env")
            if os.path.exists(a):
                args = open(a).read().split()
            if os.path.exists(e):
                for line in open(e):
                    line = line.strip()
                    if line and not line.startswith("#") and "=" in line:
                        k, v = line.split("=", 1)
                        env[k] = v
            runs.append((name, ["-r", os.path.join("pcaps", f)] + args, env, (0,)))
    seed = os.path.join("pcaps", "seed-issuer-mismatch.pcap")
    pem = os.path.join("pcaps", "pki", "public-root.pem")
    runs.append(("seed+phone-log", ["-r", seed, "--phone-log",
                                    os.path.join("pcaps", "seed-phone.log")], {}, (0,)))
    runs.append(("seed+baseline", ["-r", seed, "--baseline",
                                   os.path.join("pcaps", "expected", "fixed.jsonl")], {},
                 (0,)))
    if os.path.exists(os.path.join(ROOT, pem)):
        runs.append(("seed+cert", ["-r", seed, "--cert", "exchange=" + pem], {}, (0,)))
    return runs


def corpus_runs(dirs):
    runs = []
    for d in dirs:
        d = d if os.path.isabs(d) else os.path.join(ROOT, d)
        if not os.path.isdir(d):
            print(f"ecs: the corpus {os.path.relpath(d, ROOT)} is not there: not run")
            continue
        for top, _dirs, files in os.walk(d):
            for f in sorted(files):
                if f.endswith((".pcap", ".pcapng", ".cap")):
                    p = os.path.join(top, f)
                    # exit 2 there is a capture cut short: its report still counts
                    runs.append((os.path.relpath(p, ROOT), ["-r", p], {}, (0, 2)))
    return sorted(runs)


def run_ecs(binary, argv, env, ok):
    """The run's output; ok: the exit statuses that are not an error."""
    e = dict(os.environ)
    e.update(env)
    p = subprocess.run([binary, "--format", "ecs", "-q", "--fail-on", "never"] + argv,
                       cwd=ROOT, env=e, capture_output=True)
    if p.returncode not in ok:
        raise RuntimeError(f"exit {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("certtrace")
    ap.add_argument("--fields", default=FIELDS,
                    help="ECS's fields.csv (default %(default)s, from the checkout)")
    ap.add_argument("--update", action="store_true", help="rewrite the golden file")
    ap.add_argument("--corpus", action="append",
                    help="also every capture under this folder (default: "
                    "../shared/corpus/real and ../shared/corpus2/real)")
    a = ap.parse_args()
    binary = os.path.abspath(a.certtrace)
    failures = []

    failures += [f"checker: {x}" for x in self_test()]

    # The golden, byte for byte (the sample's own options, as golden.sh).
    exp = os.path.join(PCAPS, "expected", GOLDEN + ".ecs.jsonl")
    argv = ["-r", os.path.join("pcaps", GOLDEN + ".pcap")]
    p = subprocess.run([binary, "--format", "ecs", "-q"] + argv, cwd=ROOT,
                       capture_output=True)
    if a.update:
        with open(exp, "wb") as f:
            f.write(p.stdout)
        print(f"ecs: wrote {os.path.relpath(exp, ROOT)}")
        return 0
    if not os.path.exists(exp):
        failures.append(f"golden: {os.path.relpath(exp, ROOT)} missing (make golden writes it)")
    elif open(exp, "rb").read() != p.stdout:
        failures.append(f"golden: {GOLDEN} differs from {os.path.relpath(exp, ROOT)} "
                        "(make golden rewrites it; review the diff)")

    path = a.fields if os.path.isabs(a.fields) else os.path.join(ROOT, a.fields)
    if not os.path.exists(path):
        if os.environ.get("CERTTRACE_REQUIRE_SHARED"):
            print(f"ecs: {a.fields} absent, and CERTTRACE_REQUIRE_SHARED is set (CI)")
            return 2
        print(f"ecs: skipped: {a.fields} absent")
    else:
        with open(path, newline="") as f:
            fields, version = load_fields(f)
        # The same bad field against the real table: it must be refused there too.
        if not check_doc({"@timestamp": "2012-10-19T14:50:27Z", "ecs": {"version": version},
                          "event": {"kind": "event", "category": ["network"],
                                    "type": ["info"], "dataset": "x"},
                          "tls": {"server": {"bogus": "x"}}}, fields, version):
            failures.append("checker: fields.csv accepts tls.server.bogus")
        docs, seen, kinds = 0, set(), {}
        runs = samples()
        n_samples = len(runs)
        runs += corpus_runs(a.corpus or ["../shared/corpus/real", "../shared/corpus2/real"])

        def one(run):
            try:
                return run, run_ecs(binary, *run[1:]), None
            except RuntimeError as e:
                return run, None, e
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(one, runs))
        for (name, _argv, _env, _ok), out, err in results:
            if err:
                failures.append(f"{name}: {err}")
                continue
            lines = out.decode().splitlines()
            last = None
            for i, line in enumerate(lines, 1):
                try:
                    doc = json.loads(line)
                except ValueError as e:
                    failures.append(f"{name}:{i}: not JSON: {e}")
                    continue
                docs += 1
                flat = flatten(doc)
                last = flat.get("event.dataset")
                seen.add((last, flat.get("event.kind")))
                if isinstance(doc.get("certtrace"), dict):
                    kinds_of(doc["certtrace"], "certtrace", kinds)
                for err in check_doc(doc, fields, version):
                    failures.append(f"{name}:{i}: {err}")
            if last != "certtrace.summary":
                failures.append(f"{name}: the last document is not the summary")
        for path_, k in sorted(kinds.items()):
            if len(k) > 1:
                failures.append(f"{path_}: {' and '.join(sorted(k))} in different documents "
                                "(Elasticsearch would refuse the later ones)")
        # What the samples must have shown, so that a format that lost a kind
        # of document does not pass by writing less.
        for need in [("certtrace.tls", "event"), ("certtrace.server", "asset"),
                     ("certtrace.finding", "alert"), ("certtrace.summary", "metric"),
                     ("certtrace.phone_error", "event")]:
            if need not in seen:
                failures.append(f"no {need[0]} document with event.kind {need[1]} in any run")
        print(f"ecs: {docs} documents of {len(runs)} runs ({n_samples} on the samples) "
              f"checked against {a.fields} (ECS {version})")

    for f in failures[:50]:
        print(f"ecs: {f}")
    if len(failures) > 50:
        print(f"ecs: ... and {len(failures) - 50} more")
    print(f"ecs: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
