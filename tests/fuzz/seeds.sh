#!/bin/sh
# Builds the fuzz targets' seed directories in BUILD/seeds-<target>/ from
# the sample captures (pcaps/, the shared real-world corpus) and the sample
# PKI, fresh each run: nothing here is committed.
set -u
build=$1
corpus=${CORPUS:-../shared/corpus/real}
out=$build/seeds
rm -rf "$build/seeds-pcap" "$build/seeds-tls" "$build/seeds-tls13" "$build/seeds-x509" "$build/seeds-names"
mkdir -p "$build/seeds-pcap" "$build/seeds-tls" "$build/seeds-tls13" "$build/seeds-x509" "$build/seeds-names"
[ -d "$corpus" ] || echo "fuzz seeds: $corpus not found (CI has it); seeds from pcaps/ only"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
{ ls pcaps/*.pcap* 2>/dev/null; [ -d "$corpus" ] && find "$corpus" -name '*.pcap*' -type f; } |
	sort > "$list"
i=0
while read -r f; do
	i=$((i + 1))
	cp "$f" "$build/seeds-pcap/$i-$(basename "$f")"
done < "$list"
# TLS streams, certificates and names out of the captures.
if [ -s "$list" ]; then
	xargs "$build/fuzz/seedgen" "$build" < "$list" >/dev/null
fi
# The sample PKI's certificates, as DER.
for pem in pcaps/pki/*.pem; do
	[ -f "$pem" ] || continue
	openssl x509 -in "$pem" -outform DER -out "$build/seeds-x509/pki-$(basename "$pem" .pem)" \
		2>/dev/null || true
done
# The seed story's two CA names, and a wildcard.
printf 'DC=com\nDC=contoso\nCN=Issuing CA for contoso,com\0DC=com\nDC=contoso\nCN=Issuing-CA for contoso\0*.contoso.com\0mail.contoso.com' \
	> "$build/seeds-names/story"
printf 'CN:B=00490073007300750069006e0067002000430041\nO=Contoso\0CN=IssuingCA\nO=Contoso\0f*.contoso.com\0fx.contoso.com.' \
	> "$build/seeds-names/bmp"
# fuzz_tls13: the plaintext of a server's encrypted flight (EncryptedExtensions,
# CertificateRequest, Certificate with the sample FE chain, CertificateVerify,
# Finished) and the client's (Certificate, CertificateVerify, Finished), in
# the target's record format (tests/fuzz/fuzz_tls13.c).
python3 - "$build/seeds-tls13" pcaps/pki/lyncpool.pem pcaps/pki/issuing-ca.pem <<'PY' || true
import ssl, struct, sys
out, pems = sys.argv[1], sys.argv[2:]
ders = [ssl.PEM_cert_to_DER_cert(open(p).read()) for p in pems]
def hs(t, body): return bytes([t]) + struct.pack(">I", len(body))[1:] + body
def v24(b): return struct.pack(">I", len(b))[1:] + b
def cert_msg(chain, ctx=b""):
    entries = b"".join(v24(d) + b"\0\0" for d in chain)
    return hs(11, bytes([len(ctx)]) + ctx + v24(entries))
def rec(direction, plain, ctype=0):
    return bytes([direction | (ctype << 1)]) + struct.pack(">H", len(plain)) + plain
ee = hs(8, struct.pack(">H", 9) + b"\x00\x10\x00\x05\x00\x03\x02h2")
creq = hs(13, b"\x00" + struct.pack(">H", 8) + b"\x00\x0d\x00\x04\x00\x02\x08\x04")
cv = hs(15, b"\x08\x04" + struct.pack(">H", 4) + b"sig!")
fin = hs(20, bytes(32))
server = ee + creq + cert_msg(ders) + cv + fin
open(out + "/server-flight", "wb").write(rec(1, server))
open(out + "/server-split", "wb").write(b"".join(rec(1, server[i:i + 700]) for i in range(0, len(server), 700)))
open(out + "/mutual", "wb").write(rec(1, server) + rec(0, cert_msg(ders[:1]) + cv + fin))
PY
for t in pcap tls tls13 x509 names; do
	echo "seeds: $t $(ls "$build/seeds-$t" | wc -l)"
done
