#!/bin/sh
# Builds the fuzz targets' seed directories in BUILD/seeds-<target>/ from
# the sample captures (pcaps/, the shared real-world corpus) and the sample
# PKI, fresh each run: nothing here is committed.
set -u
build=$1
corpus=${CORPUS:-../shared/corpus/real}
out=$build/seeds
rm -rf "$build/seeds-pcap" "$build/seeds-tls" "$build/seeds-x509" "$build/seeds-names"
mkdir -p "$build/seeds-pcap" "$build/seeds-tls" "$build/seeds-x509" "$build/seeds-names"
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
for t in pcap tls x509 names; do
	echo "seeds: $t $(ls "$build/seeds-$t" | wc -l)"
done
