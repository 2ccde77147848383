/*
 * findings.c — the findings table: one row per finding code with all that
 * defines it -- its name, severity and title, the words of the message,
 * symptom and remedy, the jsonl key of its evidence names, and which phone
 * errors it explains.  rules.c decides when a finding is raised; this file
 * says what it is.  Adding a finding is an RC_ code in rep_int.h, a row
 * here, and the rule that raises it.
 *
 * The words are written at rep_finish, when roles are final, from the
 * finding's certificates and facts (the rules gather those): one sentence
 * saying what is wrong, what clients will show (the symptom a help desk
 * hears about), and what an admin can paste to fix it.  Commands are real
 * Exchange / Lync Management Shell or certutil lines with the names and
 * thumbprints of this capture filled in; where a value was not on the wire
 * the remedy says how to find it instead of inventing one.  A row gives a
 * function where the words depend on the finding, else a fixed text.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "lib/buf.h"
#include "report/rep_int.h"

#define SYMPTOM_12045 "WinINet error 12045 ERROR_INTERNET_INVALID_CA"
#define SYMPTOM_12038 "WinINet error 12038 ERROR_INTERNET_SEC_CERT_CN_INVALID"
#define SYMPTOM_12037 "WinINet error 12037 ERROR_INTERNET_SEC_CERT_DATE_INVALID"

#define WORDS_MAX_BYTES (4u * 1024 * 1024)   /* a list of names, at most */

/* What every finding's words start from. */
struct rep_say {
	const char *who;               /* "exchange server casarray.contoso.com (10.0.0.6:443)" */
	const char *cw;                /* the certificate: subject and thumbprint */
	const char *list;              /* the finding's names, ", "-joined; NULL none */
	const struct x509_info *xi;    /* the certificate, NULL: about the server */
};

const char *rep_severity_name(enum rep_severity s)
{
	switch (s) {
	case REP_INFO: return "info";
	case REP_WARNING: return "warning";
	case REP_CRITICAL: return "critical";
	case REP_NEVER: return "never";
	}
	return "?";
}

/* ---- the pieces the words are made of ----------------------------------------- */

static const char *server_label(const struct rep_server *s, char *buf, size_t len)
{
	char addr[300];
	const char *name = rep_server_name(s);

	rep_server_addr(s, addr, sizeof(addr));
	if (*name)
		snprintf(buf, len, "%s server %s (%s)", rep_role_name(s->role), name, addr);
	else
		snprintf(buf, len, "%s server %s", rep_role_name(s->role), addr);
	return buf;
}

static void cert_words(const struct rep_cert *c, char *buf, size_t len)
{
	if (!c)
		snprintf(buf, len, "(no certificate)");
	else if (!c->xi->parsed)
		snprintf(buf, len, "an unparsable certificate (SHA-1 %s)", c->xi->sha1_hex);
	else
		snprintf(buf, len, "%s (thumbprint %s)", c->xi->subject, c->xi->thumbprint);
}

/* The finding's names joined by ", " (", ..." when some were not kept). */
static char *names_list(const struct rep_finding *f)
{
	struct buf b = BUF_INIT(WORDS_MAX_BYTES);

	for (unsigned i = 0; i < f->n_names; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", f->names[i]);
	if (f->names_more)
		buf_puts(&b, ", ...");
	return buf_take(&b);
}

/* What a certificate names: its DNS names joined by ", ", or "CN " and the
 * CN when it has none (a host is matched against the CN then). */
static char *cert_names(const struct x509_info *xi)
{
	struct buf b = BUF_INIT(WORDS_MAX_BYTES);

	for (size_t i = 0; i < xi->n_dns; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", xi->dns[i]);
	if (!xi->n_dns)
		buf_printf(&b, "CN %s", xi->cn ? xi->cn : "(none)");
	return buf_take(&b);
}

static const char *fact(const struct rep_finding *f, const char *key, const char *dflt)
{
	const char *v = rep_finding_fact(f, key);

	return v ? v : dflt;
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* The CN of a name for a PowerShell -like pattern, single quotes doubled. */
static void issuer_cn_pattern(const struct x509_info *xi, char *buf, size_t len)
{
	X509_NAME *name = xi->x509 ? X509_get_issuer_name(xi->x509) : NULL;
	int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	unsigned char *utf8 = NULL;
	size_t o = 0;

	buf[0] = '\0';
	if (i < 0 || ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) < 0)
		return;
	for (const unsigned char *p = utf8; *p && o + 3 < len; p++) {
		if (*p < 0x20 || *p == '*' || *p == '?' || *p == '[' || *p == ']' || *p == '`')
			continue;      /* -like wildcards and control bytes: leave out */
		if (*p == '\'')
			buf[o++] = '\'';
		buf[o++] = (char)*p;
	}
	buf[o] = '\0';
	OPENSSL_free(utf8);
}

static char *renew_command(const struct rep_server *s)
{
	const char *name = rep_server_name(s);

	if (s->role == ROLE_EXCHANGE)
		return str_printf("On the Exchange server: New-ExchangeCertificate -DomainName %s "
				  "-KeySize 2048 -PrivateKeyExportable $true (submit the request to the "
				  "FE pool's CA), Import-ExchangeCertificate, then Enable-ExchangeCertificate "
				  "-Thumbprint <new thumbprint> -Services IIS.", *name ? name : "<names>");
	if (s->role == ROLE_LYNC_FE || s->role == ROLE_LYNC_EDGE)
		return str_printf("On the Lync server: Request-CsCertificate -New -Type Default,"
				  "WebServicesInternal,WebServicesExternal -CA <CA FQDN\\CA name> "
				  "-KeySize 2048, then Set-CsCertificate -Type Default,WebServicesInternal,"
				  "WebServicesExternal -Thumbprint <new thumbprint> (or run the Certificate "
				  "Wizard of the Deployment Wizard).");
	return str_printf("Issue a new certificate for %s and install it on the server.",
			  *name ? name : "the server");
}

/* "the CA certificate and those below it" for a CA, else "the certificate" */
static const char *reissue_what(const struct x509_info *xi)
{
	return xi->is_ca ? "the CA certificate and those below it" : "the certificate";
}

/* ---- issuer-mismatch ----------------------------------------------------------------- */

static char *issuer_mismatch_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents a certificate issued by %s, which does not chain to "
			  "the CA that issued the Lync FE pool certificate (%s) nor to a "
			  "--trust CA%s, so Lync Phone Edition devices do not trust it (%s).",
			  w->who, w->xi->issuer, fact(f, "fe_issuing_ca", "the FE pool's CA"),
			  rep_finding_fact(f, "phone_roots") ? " nor to a --phone-roots root" : "",
			  fact(f, "method", "compared"));
}

static char *issuer_mismatch_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	const char *thumb = rep_finding_fact(f, "issuing_ca_thumbprint");
	const char *store = fact(f, "issuing_ca_store", "TrustedRootCA");
	char cn[256];
	char *find = NULL;

	if (!thumb) {
		issuer_cn_pattern(w->xi, cn, sizeof(cn));
		find = str_printf("\n(The CA certificate was not on the wire: on the Exchange server, "
				  "Get-ExchangeCertificate | Format-List Issuer,Thumbprint shows the "
				  "issuer; the CA's own thumbprint comes from Get-ChildItem "
				  "Cert:\\LocalMachine\\Root,Cert:\\LocalMachine\\CA | Where-Object "
				  "Subject -like '*%s*' | Format-List Subject,Thumbprint.)",
				  cn[0] ? cn : "<issuing CA name>");
	}
	/* A phone-facing server that is not Exchange gets the same trust
	 * remedy; only the reissue half is Exchange's own. */
	bool exchange = f->server->role == ROLE_EXCHANGE;
	char *s = str_printf("Either reissue %s from the FE pool's CA (%s) and %s, or let "
			     "phones trust %s issuing CA "
			     "(%s): on a Front End server, with that CA certificate already in the "
			     "FE servers' local computer store, run\n"
			     "  $ca = New-CsWebTrustedCACertificate -Thumbprint %s -CAStore %s\n"
			     "  Set-CsWebServiceConfiguration -Identity global -TrustedCACerts @{Add=$ca}\n"
			     "(-Identity site:NAME for one site only%s)%s",
			     exchange ? "the Exchange certificate" : "this server's certificate",
			     fact(f, "fe_issuing_ca", "the FE pool's CA"),
			     exchange ? "assign it with Enable-ExchangeCertificate -Thumbprint <new "
			     "thumbprint> -Services IIS" : "install it on the server",
			     exchange ? "the Exchange" : "the server's", w->xi->issuer,
			     thumb ? thumb : exchange ? "<thumbprint of the Exchange issuing CA>"
			     : "<thumbprint of the issuing CA>", store,
			     strcmp(store, "IntermediateCA") ? ""
			     : "; add its root CA the same way with -CAStore TrustedRootCA",
			     find ? find : "");
	free(find);
	return s;
}

/* ---- same-dn-different-key, lookalike-ca-name ---------------------------------------- */

static char *same_dn_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("Two different CAs share the name %s: %s uses the key %s, %s "
			  "uses %s; a client that trusts one rejects certificates of the "
			  "other.", fact(f, "issuing_ca", "?"), w->who,
			  fact(f, "issuing_ca_key_id", "?"), fact(f, "other_server", "another server"),
			  fact(f, "other_ca_key_id", "?"));
}

static char *same_dn_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	const char *name = rep_server_name(f->server);

	return str_printf("Compare the CAs by key, not name: on a Windows server, "
			  "Get-ChildItem Cert:\\LocalMachine\\Root,Cert:\\LocalMachine\\CA | "
			  "Format-List Subject,Thumbprint,SerialNumber shows both; reissue the "
			  "certificate of %s from the same CA key as the other side (after a CA "
			  "renewal with a new key, from the current one), or trust both CA "
			  "certificates on the clients (phones: New-CsWebTrustedCACertificate).",
			  name[0] ? name : "this server");
}

static char *lookalike_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s uses a certificate from %s, and %s uses one from %s: "
			  "different CAs whose names a person would confuse (%s).", w->who,
			  fact(f, "issuing_ca", "?"), fact(f, "other_server", "another server"),
			  fact(f, "other_ca", "?"), fact(f, "why", "similar names"));
}

/* ---- client-rejected-certificate, handshake-failed ----------------------------------- */

static bool listed(const struct rep_say *w, const char *alert)
{
	return w->list && strstr(w->list, alert);
}

static char *rejected_message(const struct rep_finding *f, const struct rep_say *w)
{
	const char *subject = w->xi ? w->xi->subject : NULL;

	return str_printf("Clients of %s rejected its certificate%s%s with a fatal alert "
			  "(%s) in %llu handshake%s.", w->who, subject ? " " : "",
			  subject ? subject : "", w->list ? w->list : "?",
			  (unsigned long long)f->seen.count, plural(f->seen.count));
}

static char *rejected_symptom(const struct rep_finding *f, const struct rep_say *w)
{
	if (listed(w, "unknown_ca"))
		return str_dup("The client does not trust the issuing CA: " SYMPTOM_12045 " on "
			       "Windows and Lync Phone Edition (\"Insecure server\"), \"unable to "
			       "get local issuer certificate\" elsewhere.");
	if (listed(w, "certificate_expired"))
		return str_dup("The client finds the certificate expired: " SYMPTOM_12037 ".");
	return str_dup("The connection fails right after the server's certificate; the client "
		       "reports a certificate error.");
}

static char *rejected_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	if (listed(w, "unknown_ca"))
		return str_printf("Make the client trust the issuer (%s): install that CA "
				  "chain on the clients, or reissue the server certificate from a CA "
				  "they trust (for Lync phones: the FE pool's CA, or "
				  "New-CsWebTrustedCACertificate; see issuer-mismatch).",
				  w->xi ? w->xi->issuer : "the issuing CA");
	return str_dup("Check the certificate as the client does: export it (--export-certs "
		       "DIR) and run certutil -verify -urlfetch <thumbprint>.pem on a client; fix "
		       "what it reports (revocation reachability, validity, names, key usage).");
}

static char *failed_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%llu handshake%s with %s ended with a fatal alert (%s).",
			  (unsigned long long)f->seen.count, plural(f->seen.count), w->who,
			  w->list ? w->list : "?");
}

static char *failed_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	if (listed(w, "protocol_version"))
		return str_dup("Client and server share no TLS version: enable a common one on the "
			       "server (Lync Phone Edition speaks TLS 1.0 only; "
			       "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\"
			       "SCHANNEL\\Protocols) or update the clients.");
	if (listed(w, "handshake_failure") || listed(w, "insufficient_security"))
		return str_dup("Client and server share no cipher suite: compare the client's offer "
			       "with Get-TlsCipherSuite on the server and enable a common suite.");
	return str_dup("Compare the client's and server's TLS settings (versions, cipher "
		       "suites, client certificate requirements) and the server's Schannel event "
		       "log (System, source Schannel) at the handshake times.");
}

/* ---- expired, not-yet-valid ---------------------------------------------------------- */

static char *validity_message(const struct rep_finding *f, const struct rep_say *w)
{
	char when[40];

	const char *at = rep_finding_fact(f, "judged_at");   /* --at */

	rep_iso_us(f->seen.first_us, when, sizeof(when));
	if (f->code == RC_EXPIRED)
		return str_printf("%s presented %s, which had expired on %s at %s%s.",
				  w->who, w->cw, w->xi->not_after_iso,
				  at ? "" : "the handshake of ", at ? at : when);
	return str_printf("%s presented %s, which was not valid before %s at %s%s.",
			  w->who, w->cw, w->xi->not_before_iso,
			  at ? "" : "the handshake of ", at ? at : when);
}

static char *expired_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	const struct rep_server *s = f->server;
	bool leaf = s->n_chains && s->chains[0]->n && s->chains[0]->certs[0] == f->cert;

	if (!leaf && w->xi->is_ca)
		return str_printf("Install the renewed CA certificate of %s on the server "
				  "(certutil -addstore CA <renewed CA>.cer) and remove the expired "
				  "one (thumbprint %s) from its Intermediate Certification "
				  "Authorities store.", w->xi->subject, w->xi->thumbprint);
	return renew_command(s);
}

#define VALIDITY_SYMPTOM "Windows clients and Lync phones refuse the certificate: " \
	SYMPTOM_12037 "; browsers show NET::ERR_CERT_DATE_INVALID."

/* ---- name-mismatch ------------------------------------------------------------------- */

static char *name_message(const struct rep_finding *f, const struct rep_say *w)
{
	char *names = cert_names(w->xi);
	char *s = str_printf("Clients asked %s for %s, but its certificate %s (thumbprint %s) "
			     "names only %s.", w->who, w->list ? w->list : "?", w->xi->subject,
			     w->xi->thumbprint, names ? names : "?");

	free(names);
	return s;
}

static char *name_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	const char *list = w->list;

	if (f->server->role != ROLE_EXCHANGE)
		return str_printf("Reissue the certificate with %s among its subject alternative "
				  "names (Lync: Request-CsCertificate picks the names from the "
				  "topology; check the pool FQDN and simple URLs), or point the "
				  "clients at a name the certificate carries.",
				  list ? list : "the name");
	char *names = cert_names(w->xi);
	char *s = str_printf("Reissue the certificate with %s among its subject alternative "
			     "names: New-ExchangeCertificate -DomainName %s,%s ..., then "
			     "Enable-ExchangeCertificate -Thumbprint <new thumbprint> -Services IIS; "
			     "or point the clients (Autodiscover InternalUrl/ExternalUrl) at a name "
			     "the certificate carries.", list ? list : "the name", names ? names : "",
			     list ? list : "");
	free(names);
	return s;
}

/* ---- chain-incomplete, pool-issuer-split --------------------------------------------- */

static char *incomplete_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s sent %s certificate(s) ending below %s, without the "
			  "intermediate CA certificate(s) that link its certificate to a "
			  "root.", w->who, fact(f, "certificates_sent", "?"),
			  fact(f, "missing_issuer", "?"));
}

static char *incomplete_symptom(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("Clients that do not already hold %s fail to build the chain: "
			  SYMPTOM_12045 " on Windows and Lync phones (which cannot fetch missing "
			  "intermediates), \"unable to get local issuer certificate\" elsewhere.",
			  fact(f, "missing_issuer", "the intermediate"));
}

static char *incomplete_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("Install the intermediate CA certificate(s) of %s in the "
			  "server's Local Computer\\Intermediate Certification Authorities "
			  "store (certutil -addstore CA <intermediate>.cer) and restart the "
			  "service (IIS: iisreset; Lync: Restart-CsWindowsService) so it sends "
			  "the whole chain.", fact(f, "missing_issuer", "the issuer"));
}

static char *split_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s uses a certificate issued by %s, while the rest of the "
			  "%s servers use %s (%s).", w->who, fact(f, "issuing_ca", "?"),
			  rep_role_name(f->server->role), fact(f, "pool_issuing_ca", "?"),
			  fact(f, "pool_chains", "?"));
}

static char *split_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("Reissue this server's certificate from %s, the CA the rest "
			  "of the pool uses. %s", fact(f, "pool_issuing_ca", "the pool's CA"),
			  f->server->role == ROLE_EXCHANGE
			  ? "Then Enable-ExchangeCertificate -Thumbprint <new thumbprint> -Services IIS."
			  : "Then Set-CsCertificate -Type Default,WebServicesInternal,"
			    "WebServicesExternal -Thumbprint <new thumbprint>.");
}

/* ---- weak-key, weak-signature, pss-signature, self-signed ---------------------------- */

static char *weak_key_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents %s with a %d-bit %s key.", w->who, w->cw, w->xi->key_bits,
			  w->xi->key_type);
}

static char *weak_key_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	if (w->xi->is_ca)
		return str_printf("Renew the CA %s with a 2048-bit (or larger) key (certutil "
				  "-renewCert ReuseKeys is not enough: renew with a new key) and "
				  "reissue the certificates below it.", w->xi->subject);
	return str_dup("Reissue with a 2048-bit or larger RSA key (Exchange: "
		       "New-ExchangeCertificate -KeySize 2048; Lync: Request-CsCertificate "
		       "-KeySize 2048), then assign the new certificate.");
}

static char *weak_signature_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents %s, signed with %s.", w->who, w->cw,
			  w->xi->signature_algorithm);
}

static char *weak_signature_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("Have the CA sign with SHA-256 (on a Windows CA: certutil "
			  "-setreg ca\\csp\\CNGHashAlgorithm SHA256, then restart certsvc) and "
			  "reissue %s.", reissue_what(w->xi));
}

static char *pss_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents %s, signed with RSASSA-PSS.", w->who, w->cw);
}

static char *pss_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("On the CA: certutil -setreg ca\\csp\\AlternateSignatureAlgorithm "
			  "0, restart certsvc, and reissue %s with a PKCS#1 v1.5 signature.",
			  reissue_what(w->xi));
}

static char *self_signed_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents a self-signed certificate, %s.", w->who, w->cw);
}

static char *self_signed_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("Replace it with a certificate from the CA that issued the "
			  "Lync FE pool certificate (or a public CA the clients trust). %s",
			  f->server->role == ROLE_EXCHANGE
			  ? "Exchange: New-ExchangeCertificate, then Enable-ExchangeCertificate -Services IIS."
			  : "");
}

/* ---- certificates-hidden, resumed-no-cert, handshake-truncated ---------------------- */

/* names: why a key log that had the secrets did not open them. */
static char *hidden_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%llu handshake%s with %s used TLS 1.3: the certificates are "
			  "encrypted, so nothing about them was checked.%s%s",
			  (unsigned long long)f->seen.count, plural(f->seen.count), w->who,
			  f->n_names ? " With the key log: " : "", f->n_names ? f->names[0] : "");
}

static char *hidden_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	if (f->n_names)
		return str_dup("Use the key log written by the client of this very capture "
			       "(SSLKEYLOGFILE), or export the server's certificate and pass it "
			       "with --cert ROLE=FILE.");
	return str_dup("Capture with the client's key log (SSLKEYLOGFILE) and pass it with "
		       "--keylog FILE, or export the server's certificate and pass it with "
		       "--cert ROLE=FILE.");
}

static char *resumed_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%llu handshake%s with %s resumed an earlier session: no "
			  "certificate was on the wire for %s.",
			  (unsigned long long)f->seen.count, plural(f->seen.count), w->who,
			  f->seen.count == 1 ? "it" : "them");
}

/* The snaplen words of a handshake the capture's snaplen cut. */
static const char *snaplen_words(const struct rep_finding *f, char *buf, size_t len)
{
	const char *snaplen = rep_finding_fact(f, "snaplen");

	if (snaplen)
		snprintf(buf, len, "the capture's snaplen (%s bytes)", snaplen);
	else
		snprintf(buf, len, "the capture's snaplen (not recorded in the file)");
	return buf;
}

static char *truncated_message(const struct rep_finding *f, const struct rep_say *w)
{
	const char *cut = rep_finding_fact(f, "snaplen_cut_packets");
	char snaplen[80];

	if (cut) {
		char *many = f->seen.count == 1 ? NULL
			   : str_printf("these %llu handshakes", (unsigned long long)f->seen.count);
		char *s = str_printf("The capture missed the certificates of %s: %s cut %s packet%s "
				     "of %s; capture again with -s 0 (%s).", w->who,
				     snaplen_words(f, snaplen, sizeof(snaplen)), cut,
				     strcmp(cut, "1") ? "s" : "", many ? many : "this handshake",
				     w->list ? w->list : "the certificates were not seen whole");
		free(many);
		return s;
	}
	return str_printf("The capture lost part of the Certificate message of %s "
			  "(%s); the chain shown may be incomplete.", w->who,
			  w->list ? w->list : "gap or end of capture");
}

static char *truncated_symptom(const struct rep_finding *f, const struct rep_say *w)
{
	if (rep_finding_fact(f, "snaplen_cut_packets"))
		return str_dup("None on the clients: the capture, not the server, lost the bytes; "
			       "the certificates of these handshakes were not checked.");
	return str_dup("None on the clients; the report may miss certificates.");
}

static char *truncated_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	char snaplen[80];

	if (rep_finding_fact(f, "snaplen_cut_packets"))
		return str_printf("Capture again with -s 0 (tcpdump -s 0, dumpcap -s 0; in Wireshark "
				  "no packet size limit) so every packet is kept whole: %s keeps the "
				  "headers and loses the certificates.",
				  snaplen_words(f, snaplen, sizeof(snaplen)));
	return str_dup("Capture with a full snap length (-s 0), a larger buffer (-B), or "
		       "closer to the server.");
}

/* ---- missing-server-auth-eku, missing-crl-dp ----------------------------------------- */

static char *eku_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents %s, whose Extended Key Usage lacks Server "
			  "Authentication.", w->who, w->cw);
}

static char *crl_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents %s, which has no CRL distribution point.", w->who, w->cw);
}

static char *crl_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	if (w->xi->self_signed)
		return str_printf("A self-signed certificate has no CA to publish a revocation list: "
				  "replace it with one from the CA that issued the Lync FE pool "
				  "certificate, from a template with a CRL distribution point. %s",
				  f->server->role == ROLE_EXCHANGE
				  ? "Exchange: New-ExchangeCertificate, then Enable-ExchangeCertificate "
				    "-Services IIS." : "");
	return str_printf("Configure a CRL distribution point on the issuing CA (%s: "
			  "certutil -setreg CA\\CRLPublicationURLs ..., restart certsvc) and "
			  "reissue the certificate.", w->xi->issuer);
}

/* ---- certificate-changed: what --baseline had and what this run saw ----------------- */

static const char *change_of(const struct rep_finding *f)
{
	return fact(f, "change", "certificate");
}

static bool ca_changed(const struct rep_finding *f)
{
	return !strcmp(change_of(f), "certificate and issuing CA");
}

static char *changed_message(const struct rep_finding *f, const struct rep_say *w)
{
	const char *change = change_of(f);
	const char *base = fact(f, "baseline", "the baseline");
	const char *old = fact(f, "baseline_certificate", "another certificate");

	if (!strcmp(change, "appeared"))
		return str_printf("%s is new since %s: it presents %s, issued by %s.", w->who, base,
				  w->cw, fact(f, "issuing_ca", "?"));
	if (!strcmp(change, "disappeared")) {
		bool named = rep_finding_fact(f, "baseline_name") != NULL;
		return str_printf("%s%s%s%s presented %s in %s and was not seen in this run.",
				  w->who, named ? " (" : "", fact(f, "baseline_name", ""),
				  named ? ")" : "", old, base);
	}
	bool ca = ca_changed(f);
	return str_printf("%s now presents %s, issued by %s; in %s it presented %s%s%s%s.",
			  w->who, w->cw, fact(f, "issuing_ca", "?"), base, old,
			  ca ? ", issued by " : " from the same CA",
			  ca ? fact(f, "baseline_issuing_ca", "?") : "",
			  ca ? ": the issuing CA changed too" : "");
}

static char *changed_symptom(const struct rep_finding *f, const struct rep_say *w)
{
	const char *change = change_of(f);

	if (!strcmp(change, "appeared"))
		return str_dup("None by itself; the trust rules above say whether clients accept it.");
	if (!strcmp(change, "disappeared"))
		return str_dup("Clients that used it fail to connect, unless another server took "
			       "its place or this capture did not see its traffic.");
	if (ca_changed(f))
		return str_dup("Clients that trusted only the old CA reject the new certificate: "
			       "on Lync phones " SYMPTOM_12045 ", unless the new CA is the FE pool's "
			       "(issuer-mismatch is reported when it is not).");
	return str_dup("None if the renewal was planned; clients that pinned the old "
		       "certificate reject the new one.");
}

static char *changed_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	const char *change = change_of(f);

	if (!strcmp(change, "appeared"))
		return str_dup("Check that this server is meant to be there; if it serves Lync or "
			       "Exchange, its certificate must come from the FE pool's CA.");
	if (!strcmp(change, "disappeared"))
		return str_dup("Check that the server is up and that the capture point sees its "
			       "traffic (clients, ports, the capture filter).");
	if (ca_changed(f))
		return str_dup("Check that the change was intended; the new certificate must come "
			       "from the CA that issued the Lync FE pool certificate, or that CA must "
			       "be added for phones with New-CsWebTrustedCACertificate.");
	return str_dup("Check that the change was intended (a planned renewal).");
}

/* ---- expires-soon ---------------------------------------------------------------------- */

static char *soon_message(const struct rep_finding *f, const struct rep_say *w)
{
	const char *days = fact(f, "days_left", "?");

	return str_printf("%s presents %s, the first certificate of its chain to expire (its %s): "
			  "it expires on %s, %s day%s after %s, within --warn-days %s.", w->who,
			  w->cw, fact(f, "which", "certificate"), w->xi->not_after_iso, days,
			  strcmp(days, "1") ? "s" : "", fact(f, "judged_at", "the handshake"),
			  fact(f, "warn_days", "?"));
}

static char *soon_symptom(const struct rep_finding *f, const struct rep_say *w)
{
	const struct rep_server *s = f->server;

	if (rep_server_phone_judged(s))
		return str_printf("Nothing yet.  From %s Lync phones lose Exchange integration "
				  "(calendar, voice mail, call logs: " SYMPTOM_12037 ") and every "
				  "client of the server refuses the certificate.", w->xi->not_after_iso);
	if (rep_role_is_lync(s->role))
		return str_printf("Nothing yet.  From %s phones and Lync clients cannot sign in "
				  "through this server (" SYMPTOM_12037 ") and server-to-server "
				  "TLS with it fails.", w->xi->not_after_iso);
	return str_printf("Nothing yet.  From %s clients refuse the certificate ("
			  SYMPTOM_12037 "; browsers: NET::ERR_CERT_DATE_INVALID).",
			  w->xi->not_after_iso);
}

static char *soon_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	const struct rep_server *s = f->server;
	bool leaf = s->n_chains && s->chains[0]->n && s->chains[0]->certs[0] == f->cert;

	if (!leaf && w->xi->is_ca)
		return str_printf("Renew the CA certificate %s before %s (on the CA: certutil "
				  "-renewCert, or the Certification Authority console), install the "
				  "renewed one on the server (certutil -addstore CA <renewed CA>.cer) and "
				  "reissue the certificates it signed if their chain must change.",
				  w->xi->subject, w->xi->not_after_iso);
	char *renew = renew_command(s);
	char *r = str_printf("Renew it before %s. %s", w->xi->not_after_iso, renew ? renew : "");
	free(renew);
	return r;
}

/* ---- public-root-unverified ------------------------------------------------------------- */

static char *public_root_message(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("%s presents a certificate issued by %s that chains to the public root "
			  "%s (thumbprint %s) of this machine's system store, not to the CA that "
			  "issued the Lync FE pool certificate (%s) nor to a --trust CA: Lync Phone "
			  "Edition devices trust it only if their firmware's list of public roots "
			  "carries that root, and no --phone-roots says whether it does (%s).",
			  w->who, w->xi->issuer, fact(f, "root", "?"), fact(f, "root_thumbprint", "?"),
			  fact(f, "fe_issuing_ca", "the FE pool's CA"), fact(f, "method", "?"));
}

static char *public_root_remedy(const struct rep_finding *f, const struct rep_say *w)
{
	return str_printf("Check the phones' list of trusted root CAs (Lync Phone Edition: the "
			  "public roots of its firmware, which Microsoft documents for each "
			  "release) for %s, thumbprint %s; if it is there, run certtrace again with "
			  "--phone-roots FILE.pem holding those roots.  If it is not, let phones "
			  "trust it: on a Front End server, with that root already in the FE "
			  "servers' local computer store, run\n"
			  "  $ca = New-CsWebTrustedCACertificate -Thumbprint %s -CAStore ThirdPartyRootCA\n"
			  "  Set-CsWebServiceConfiguration -Identity global -TrustedCACerts @{Add=$ca}\n"
			  "(-Identity site:NAME for one site only), or reissue the certificate from the "
			  "FE pool's CA (%s).", fact(f, "root", "the root"),
			  fact(f, "root_thumbprint", "?"), fact(f, "root_thumbprint", "<root thumbprint>"),
			  fact(f, "fe_issuing_ca", "the FE pool's CA"));
}

/* ---- the table ------------------------------------------------------------------------ */

/*
 * explains[class]: for a phone error of that class (phonelog.c), this
 * finding's rank among the ones that explain it, 1 the likeliest cause;
 * 0, it does not explain it.
 */
const struct rep_finding_def rep_finding_defs[RC_COUNT] = {
	[RC_ISSUER_MISMATCH] = {
		"issuer-mismatch", REP_CRITICAL,
		"phones do not trust the certificate's issuing CA",
		issuer_mismatch_message, NULL, issuer_mismatch_remedy,
		.symptom_text = "Lync Phone Edition: \"Insecure server. errorCode=12045\" ("
			SYMPTOM_12045 ") when the phone opens Exchange Web Services; Exchange "
			"integration (calendar, voice mail, call logs) is unavailable on every "
			"phone of the pool.",
		.explains = { [PHONE_UNTRUSTED] = 1, [PHONE_CERT] = 1 },
	},
	[RC_SAME_DN_DIFFERENT_KEY] = {
		"same-dn-different-key", REP_CRITICAL,
		"two issuing CAs share a name but not a key",
		same_dn_message, NULL, same_dn_remedy,
		.symptom_text = "Clients that hold only the other CA certificate, such as Lync "
			"phones trusting the FE pool's CA, fail with " SYMPTOM_12045 " although "
			"the issuer name looks right.",
		.explains = { [PHONE_UNTRUSTED] = 2, [PHONE_CERT] = 2 },
	},
	[RC_LOOKALIKE_CA_NAME] = {
		"lookalike-ca-name", REP_WARNING,
		"two issuing CAs have names a person would confuse",
		lookalike_message, NULL, NULL,
		.symptom_text = "None by itself, but it hides trust failures: both look like one "
			"CA, while clients that trust only one (Lync phones trust the FE pool's "
			"CA) fail against the other with " SYMPTOM_12045 ".",
		.remedy_text = "Compare CAs by thumbprint, not by name (certutil -verify "
			"<certificate file>, or Get-ChildItem Cert:\\LocalMachine\\CA,"
			"Cert:\\LocalMachine\\Root | Format-List Subject,Thumbprint); issue the "
			"Lync and Exchange certificates from one CA and retire or clearly rename "
			"the other.",
		.explains = { [PHONE_UNTRUSTED] = 7 },
	},
	[RC_CLIENT_REJECTED_CERTIFICATE] = {
		"client-rejected-certificate", REP_CRITICAL,
		"a client answered the certificate with a fatal alert",
		rejected_message, rejected_symptom, rejected_remedy,
		.evidence_names = "alerts",
		.explains = { [PHONE_UNTRUSTED] = 6, [PHONE_CERT] = 9, [PHONE_CHANNEL] = 2 },
	},
	[RC_HANDSHAKE_FAILED] = {
		"handshake-failed", REP_WARNING,
		"the handshake ended with a fatal alert",
		failed_message, NULL, failed_remedy,
		.symptom_text = "The connection fails before any data is exchanged; clients show "
			"a generic TLS or \"cannot connect\" error.",
		.evidence_names = "alerts",
		.explains = { [PHONE_CHANNEL] = 1 },
	},
	[RC_EXPIRED] = {
		"expired", REP_CRITICAL,
		"a certificate had expired at the handshake",
		validity_message, NULL, expired_remedy,
		.symptom_text = VALIDITY_SYMPTOM,
		.explains = { [PHONE_DATE] = 1, [PHONE_CERT] = 3 },
	},
	[RC_NOT_YET_VALID] = {
		"not-yet-valid", REP_CRITICAL,
		"a certificate was not yet valid at the handshake",
		validity_message, NULL, NULL,
		.symptom_text = VALIDITY_SYMPTOM,
		.remedy_text = "Check the clocks of the server and the clients (w32tm /query "
			"/status) and the certificate's start date; reissue it if the date is "
			"wrong.",
		.explains = { [PHONE_DATE] = 2, [PHONE_CERT] = 4 },
	},
	[RC_NAME_MISMATCH] = {
		"name-mismatch", REP_CRITICAL,
		"the name a client asked for is not on the certificate",
		name_message, NULL, name_remedy,
		.symptom_text = "Windows clients and Lync phones: " SYMPTOM_12038 "; browsers: "
			"NET::ERR_CERT_COMMON_NAME_INVALID.",
		.evidence_names = "sni",
		.explains = { [PHONE_NAME] = 1, [PHONE_CERT] = 5 },
	},
	[RC_CHAIN_INCOMPLETE] = {
		"chain-incomplete", REP_WARNING,
		"the server does not send its intermediate CA certificates",
		incomplete_message, incomplete_symptom, incomplete_remedy,
		.explains = { [PHONE_UNTRUSTED] = 4, [PHONE_CERT] = 7 },
	},
	[RC_POOL_ISSUER_SPLIT] = {
		"pool-issuer-split", REP_WARNING,
		"servers of one role use different issuing CAs",
		split_message, NULL, split_remedy,
		.symptom_text = "Clients that trust only the pool's usual CA (Lync phones) fail "
			"intermittently, whenever this server answers: " SYMPTOM_12045 ".",
		.explains = { [PHONE_UNTRUSTED] = 5 },
	},
	[RC_WEAK_KEY] = {
		"weak-key", REP_WARNING,
		"RSA key under 2048 bits or EC key under 224",
		weak_key_message, NULL, weak_key_remedy,
		.symptom_text = "Current clients reject it (many TLS stacks require 2048-bit RSA "
			"or 224-bit EC keys; Windows blocks RSA under 1024), and the key can be "
			"broken.",
		.explains = { [PHONE_CERT] = 11, [PHONE_CHANNEL] = 4 },
	},
	[RC_WEAK_SIGNATURE] = {
		"weak-signature", REP_WARNING,
		"SHA-1 or MD5 signature on a certificate other than a root",
		weak_signature_message, NULL, weak_signature_remedy,
		.symptom_text = "Browsers and current Windows reject SHA-1 and MD5 signed "
			"certificates (NET::ERR_CERT_WEAK_SIGNATURE_ALGORITHM); collisions make "
			"them forgeable.",
		.explains = { [PHONE_CERT] = 12, [PHONE_CHANNEL] = 5 },
	},
	[RC_SELF_SIGNED] = {
		"self-signed", REP_WARNING,
		"a self-signed server certificate",
		self_signed_message, NULL, self_signed_remedy,
		.symptom_text = "No client trusts it unless it was installed on each one: "
			SYMPTOM_12045 " on Windows clients and Lync phones.",
		.explains = { [PHONE_UNTRUSTED] = 3, [PHONE_CERT] = 6 },
	},
	[RC_CERTIFICATES_HIDDEN] = {
		"certificates-hidden", REP_INFO,
		"TLS 1.3 without a key log: nothing was checked",
		hidden_message, NULL, hidden_remedy,
		.symptom_text = "None by itself.",
		.evidence_names = "reasons",
	},
	[RC_RESUMED_NO_CERT] = {
		"resumed-no-cert", REP_INFO,
		"a resumed session: no certificate on the wire",
		resumed_message, NULL, NULL,
		.symptom_text = "None by itself.",
		.remedy_text = "Capture the start of a session (restart the client or wait for "
			"its session cache to expire) to see the certificate.",
	},
	[RC_HANDSHAKE_TRUNCATED] = {
		"handshake-truncated", REP_WARNING,
		"the capture lost part of the Certificate message",
		truncated_message, truncated_symptom, truncated_remedy,
		.evidence_names = "reasons",
	},
	[RC_MISSING_SERVER_AUTH_EKU] = {
		"missing-server-auth-eku", REP_WARNING,
		"a server certificate without the Server Authentication EKU",
		eku_message, NULL, NULL,
		.symptom_text = "Clients refuse it for TLS (\"The certificate is not valid for the "
			"requested usage\", CERT_E_WRONG_USAGE); Lync services will not use it.",
		.remedy_text = "Reissue from a template that includes Server Authentication "
			"(1.3.6.1.5.5.7.3.1), such as the Web Server template.",
		.explains = { [PHONE_WRONG_USAGE] = 1, [PHONE_CERT] = 8 },
	},
	[RC_MISSING_CRL_DP] = {
		"missing-crl-dp", REP_WARNING,
		"a Lync or Exchange certificate without a CRL distribution point",
		crl_message, NULL, crl_remedy,
		.symptom_text = "Lync servers and clients check revocation and may reject the "
			"certificate (\"the revocation function was unable to check "
			"revocation\").",
		.explains = { [PHONE_REVOCATION] = 1 },
	},
	[RC_CERTIFICATE_CHANGED] = {
		"certificate-changed", REP_WARNING,
		"another certificate or issuing CA than in --baseline",
		changed_message, changed_symptom, changed_remedy,
		.explains = { [PHONE_UNTRUSTED] = 8 },
	},
	[RC_PSS_SIGNATURE] = {
		"pss-signature", REP_WARNING,
		"an RSASSA-PSS signature, which Lync does not support",
		pss_message, NULL, pss_remedy,
		.symptom_text = "Lync and Skype for Business do not support RSASSA-PSS: sign-in "
			"and server-to-server TLS fail.",
		.explains = { [PHONE_CERT] = 10, [PHONE_CHANNEL] = 3 },
	},
	[RC_EXPIRES_SOON] = {
		"expires-soon", REP_WARNING,
		"a certificate of the chain expires within --warn-days",
		soon_message, soon_symptom, soon_remedy,
	},
	[RC_PUBLIC_ROOT_UNVERIFIED] = {
		"public-root-unverified", REP_WARNING,
		"a public root the phones may or may not carry",
		public_root_message, NULL, public_root_remedy,
		.symptom_text = "If the phones' firmware lacks that root: \"Insecure server. "
			"errorCode=12045\" (" SYMPTOM_12045 ") when the phone opens Exchange Web "
			"Services, and no Exchange integration; if it carries it, none.",
		.explains = { [PHONE_UNTRUSTED] = 9, [PHONE_CERT] = 13 },
	},
};

static char *words(rep_words_fn *fn, const char *text, const struct rep_finding *f,
		   const struct rep_say *w)
{
	return fn ? fn(f, w) : str_dup(text);
}

void rep_finding_describe(struct rep_finding *f)
{
	const struct rep_finding_def *d = &rep_finding_defs[f->code];
	char who[600], cw[600];
	char *list = names_list(f);
	struct rep_say w = { who, cw, list && list[0] ? list : NULL,
			     f->cert ? f->cert->xi : NULL };

	server_label(f->server, who, sizeof(who));
	cert_words(f->cert, cw, sizeof(cw));
	f->severity = d->severity;
	free(f->message);
	free(f->symptom);
	free(f->remedy);
	f->message = d->describe(f, &w);
	f->symptom = words(d->symptom, d->symptom_text, f, &w);
	f->remedy = words(d->remedy, d->remedy_text, f, &w);
	free(list);
}
