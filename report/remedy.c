/*
 * remedy.c — the words of a finding: one sentence saying what is wrong,
 * what clients will show (the symptom a help desk hears about), and what an
 * admin can paste to fix it.
 *
 * Texts are written at rep_finish, when roles are final, from the finding's
 * certificates and facts (rules.c gathers those).  Commands are real
 * Exchange / Lync Management Shell or certutil lines with the names and
 * thumbprints of this capture filled in; where a value was not on the wire
 * the remedy says how to find it instead of inventing one.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "report/rep_int.h"

#define SYMPTOM_12045 "WinINet error 12045 ERROR_INTERNET_INVALID_CA"
#define SYMPTOM_12038 "WinINet error 12038 ERROR_INTERNET_SEC_CERT_CN_INVALID"
#define SYMPTOM_12037 "WinINet error 12037 ERROR_INTERNET_SEC_CERT_DATE_INVALID"

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

static void cert_words(const struct rep_cert *c, char *buf, size_t len)
{
	if (!c)
		snprintf(buf, len, "(no certificate)");
	else if (!c->xi->parsed)
		snprintf(buf, len, "an unparsable certificate (SHA-1 %s)", c->xi->sha1_hex);
	else
		snprintf(buf, len, "%s (thumbprint %s)", c->xi->subject, c->xi->thumbprint);
}

static char *names_list(const struct rep_finding *f)
{
	size_t len = 1;

	for (unsigned i = 0; i < f->n_names; i++)
		len += strlen(f->names[i]) + 2;
	len += 8;
	char *s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (unsigned i = 0; i < f->n_names; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, f->names[i]);
	}
	if (f->names_more)
		strcat(s, ", ...");
	return s;
}

static const char *fact(const struct rep_finding *f, const char *key, const char *dflt)
{
	const char *v = rep_finding_fact(f, key);

	return v ? v : dflt;
}

static char *renew_command(const struct rep_server *s, const struct rep_cert *c)
{
	const char *name = rep_server_name(s);

	if (s->role == ROLE_EXCHANGE)
		return rep_asprintf("On the Exchange server: New-ExchangeCertificate -DomainName %s "
				    "-KeySize 2048 -PrivateKeyExportable $true (submit the request to the "
				    "FE pool's CA), Import-ExchangeCertificate, then Enable-ExchangeCertificate "
				    "-Thumbprint <new thumbprint> -Services IIS.", *name ? name : "<names>");
	if (s->role == ROLE_LYNC_FE || s->role == ROLE_LYNC_EDGE)
		return rep_asprintf("On the Lync server: Request-CsCertificate -New -Type Default,"
				    "WebServicesInternal,WebServicesExternal -CA <CA FQDN\\CA name> "
				    "-KeySize 2048, then Set-CsCertificate -Type Default,WebServicesInternal,"
				    "WebServicesExternal -Thumbprint <new thumbprint> (or run the Certificate "
				    "Wizard of the Deployment Wizard).");
	return rep_asprintf("Issue a new certificate for %s and install it on the server.",
			    *name ? name : "the server");
}

static void describe_issuer_mismatch(struct rep *r, struct rep_finding *f, const char *who)
{
	const struct x509_info *leaf = f->cert->xi;
	const char *fe_ca = fact(f, "fe_issuing_ca", "the FE pool's CA");
	const char *thumb = rep_finding_fact(f, "issuing_ca_thumbprint");
	const char *store = fact(f, "issuing_ca_store", "TrustedRootCA");
	char cn[256], find[600] = "";

	issuer_cn_pattern(leaf, cn, sizeof(cn));
	f->message = rep_asprintf("%s presents a certificate issued by %s, which does not chain to "
				  "the CA that issued the Lync FE pool certificate (%s) nor to a "
				  "--trust CA, so Lync Phone Edition devices do not trust it (%s).",
				  who, leaf->issuer, fe_ca, fact(f, "method", "compared"));
	f->symptom = rep_asprintf("Lync Phone Edition: \"Insecure server. errorCode=12045\" (%s) "
				  "when the phone opens Exchange Web Services; Exchange integration "
				  "(calendar, voice mail, call logs) is unavailable on every phone of "
				  "the pool.", SYMPTOM_12045);
	if (!thumb)
		snprintf(find, sizeof(find),
			 "\n(The CA certificate was not on the wire: on the Exchange server, "
			 "Get-ExchangeCertificate | Format-List Issuer,Thumbprint shows the issuer; the "
			 "CA's own thumbprint comes from Get-ChildItem Cert:\\LocalMachine\\Root,"
			 "Cert:\\LocalMachine\\CA | Where-Object Subject -like '*%s*' | Format-List "
			 "Subject,Thumbprint.)", cn[0] ? cn : "<issuing CA name>");
	f->remedy = rep_asprintf("Either reissue the Exchange certificate from the FE pool's CA "
				 "(%s) and assign it with Enable-ExchangeCertificate -Thumbprint <new "
				 "thumbprint> -Services IIS, or let phones trust the Exchange issuing CA "
				 "(%s): on a Front End server, with that CA certificate already in the "
				 "FE servers' local computer store, run\n"
				 "  $ca = New-CsWebTrustedCACertificate -Thumbprint %s -CAStore %s\n"
				 "  Set-CsWebServiceConfiguration -Identity global -TrustedCACerts @{Add=$ca}\n"
				 "(-Identity site:NAME for one site only%s)%s",
				 fe_ca, leaf->issuer, thumb ? thumb : "<thumbprint of the Exchange issuing CA>",
				 store, strcmp(store, "IntermediateCA") ? "" :
				 "; add its root CA the same way with -CAStore TrustedRootCA", find);
	(void)r;
}

static void describe_alert(struct rep_finding *f, const char *who, const char *list)
{
	const char *subject = f->cert ? f->cert->xi->subject : NULL;
	bool unknown_ca = list && strstr(list, "unknown_ca");
	bool expired = list && strstr(list, "certificate_expired");

	f->message = rep_asprintf("Clients of %s rejected its certificate%s%s with a fatal alert "
				  "(%s) in %llu handshake%s.", who, subject ? " " : "", subject ? subject : "",
				  list ? list : "?", (unsigned long long)f->seen.count,
				  f->seen.count == 1 ? "" : "s");
	if (unknown_ca)
		f->symptom = rep_asprintf("The client does not trust the issuing CA: %s on Windows "
					  "and Lync Phone Edition (\"Insecure server\"), "
					  "\"unable to get local issuer certificate\" elsewhere.",
					  SYMPTOM_12045);
	else if (expired)
		f->symptom = rep_asprintf("The client finds the certificate expired: %s.", SYMPTOM_12037);
	else
		f->symptom = rep_asprintf("The connection fails right after the server's certificate; "
					  "the client reports a certificate error.");
	if (unknown_ca)
		f->remedy = rep_asprintf("Make the client trust the issuer (%s): install that CA "
					 "chain on the clients, or reissue the server certificate from a CA "
					 "they trust (for Lync phones: the FE pool's CA, or "
					 "New-CsWebTrustedCACertificate; see issuer-mismatch).",
					 f->cert ? f->cert->xi->issuer : "the issuing CA");
	else
		f->remedy = rep_asprintf("Check the certificate as the client does: export it "
					 "(--export-certs DIR) and run certutil -verify -urlfetch "
					 "<thumbprint>.pem on a client; fix what it reports (revocation "
					 "reachability, validity, names, key usage).");
}

static void describe_failed(struct rep_finding *f, const char *who, const char *list)
{
	f->message = rep_asprintf("%llu handshake%s with %s ended with a fatal alert (%s).",
				  (unsigned long long)f->seen.count, f->seen.count == 1 ? "" : "s", who,
				  list ? list : "?");
	f->symptom = rep_asprintf("The connection fails before any data is exchanged; clients "
				  "show a generic TLS or \"cannot connect\" error.");
	if (list && strstr(list, "protocol_version"))
		f->remedy = rep_asprintf("Client and server share no TLS version: enable a common "
					 "one on the server (Lync Phone Edition speaks TLS 1.0 only; "
					 "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\"
					 "SCHANNEL\\Protocols) or update the clients.");
	else if (list && (strstr(list, "handshake_failure") || strstr(list, "insufficient_security")))
		f->remedy = rep_asprintf("Client and server share no cipher suite: compare the "
					 "client's offer with Get-TlsCipherSuite on the server and enable "
					 "a common suite.");
	else
		f->remedy = rep_asprintf("Compare the client's and server's TLS settings (versions, "
					 "cipher suites, client certificate requirements) and the "
					 "server's Schannel event log (System, source Schannel) at the "
					 "handshake times.");
}

static void describe_validity(struct rep_finding *f, const char *who, bool expired)
{
	const struct x509_info *xi = f->cert->xi;
	char when[40], cw[600];
	bool leaf = f->server->n_chains && f->server->chains[0]->n &&
		    f->server->chains[0]->certs[0] == f->cert;

	rep_iso_us(f->seen.first_us, when, sizeof(when));
	cert_words(f->cert, cw, sizeof(cw));
	if (expired)
		f->message = rep_asprintf("%s presented %s, which had expired on %s at the handshake "
					  "of %s.", who, cw, xi->not_after_iso, when);
	else
		f->message = rep_asprintf("%s presented %s, which was not valid before %s at the "
					  "handshake of %s.", who, cw, xi->not_before_iso, when);
	f->symptom = rep_asprintf("Windows clients and Lync phones refuse the certificate: %s; "
				  "browsers show NET::ERR_CERT_DATE_INVALID.", SYMPTOM_12037);
	if (!expired)
		f->remedy = rep_asprintf("Check the clocks of the server and the clients (w32tm "
					 "/query /status) and the certificate's start date; reissue it if "
					 "the date is wrong.");
	else if (!leaf && xi->is_ca)
		f->remedy = rep_asprintf("Install the renewed CA certificate of %s on the server "
					 "(certutil -addstore CA <renewed CA>.cer) and remove the expired "
					 "one (thumbprint %s) from its Intermediate Certification "
					 "Authorities store.", xi->subject, xi->thumbprint);
	else
		f->remedy = renew_command(f->server, f->cert);
}

static void describe_name(struct rep_finding *f, const char *who, const char *list)
{
	const struct x509_info *xi = f->cert->xi;
	const char *cn = xi->cn ? xi->cn : "(none)";
	size_t len = 1;

	/* Exactly what is written below: the DNS names joined by ", ", or
	 * "CN " and the CN when there are none. */
	for (size_t i = 0; i < xi->n_dns; i++)
		len += strlen(xi->dns[i]) + 2;
	if (!xi->n_dns)
		len += strlen("CN ") + strlen(cn);
	char *names = malloc(len);
	if (names) {
		names[0] = '\0';
		for (size_t i = 0; i < xi->n_dns; i++) {
			if (i)
				strcat(names, ", ");
			strcat(names, xi->dns[i]);
		}
		if (!xi->n_dns)
			strcat(strcat(names, "CN "), cn);
	}
	f->message = rep_asprintf("Clients asked %s for %s, but its certificate %s (thumbprint %s) "
				  "names only %s.", who, list ? list : "?", xi->subject, xi->thumbprint,
				  names ? names : "?");
	f->symptom = rep_asprintf("Windows clients and Lync phones: %s; browsers: "
				  "NET::ERR_CERT_COMMON_NAME_INVALID.", SYMPTOM_12038);
	if (f->server->role == ROLE_EXCHANGE)
		f->remedy = rep_asprintf("Reissue the certificate with %s among its subject "
					 "alternative names: New-ExchangeCertificate -DomainName %s,%s "
					 "..., then Enable-ExchangeCertificate -Thumbprint <new thumbprint> "
					 "-Services IIS; or point the clients (Autodiscover "
					 "InternalUrl/ExternalUrl) at a name the certificate carries.",
					 list ? list : "the name", names ? names : "", list ? list : "");
	else
		f->remedy = rep_asprintf("Reissue the certificate with %s among its subject "
					 "alternative names (Lync: Request-CsCertificate picks the names "
					 "from the topology; check the pool FQDN and simple URLs), or point "
					 "the clients at a name the certificate carries.",
					 list ? list : "the name");
	free(names);
}

/* certificate-changed: what --baseline had and what this run saw. */
static void describe_changed(struct rep_finding *f, const char *who, const char *cw)
{
	const char *change = fact(f, "change", "certificate");
	const char *base = fact(f, "baseline", "the baseline");
	const char *old = fact(f, "baseline_certificate", "another certificate");
	const char *old_ca = fact(f, "baseline_issuing_ca", "?");

	if (!strcmp(change, "appeared")) {
		f->message = rep_asprintf("%s is new since %s: it presents %s, issued by %s.", who, base,
					  cw, fact(f, "issuing_ca", "?"));
		f->symptom = rep_asprintf("None by itself; the trust rules above say whether "
					  "clients accept it.");
		f->remedy = rep_asprintf("Check that this server is meant to be there; if it serves "
					 "Lync or Exchange, its certificate must come from the FE pool's CA.");
		return;
	}
	if (!strcmp(change, "disappeared")) {
		f->message = rep_asprintf("%s%s%s%s presented %s in %s and was not seen in this run.",
					  who, rep_finding_fact(f, "baseline_name") ? " (" : "",
					  fact(f, "baseline_name", ""),
					  rep_finding_fact(f, "baseline_name") ? ")" : "", old, base);
		f->symptom = rep_asprintf("Clients that used it fail to connect, unless another "
					  "server took its place or this capture did not see its traffic.");
		f->remedy = rep_asprintf("Check that the server is up and that the capture point "
					 "sees its traffic (clients, ports, the capture filter).");
		return;
	}
	bool ca = !strcmp(change, "certificate and issuing CA");
	f->message = rep_asprintf("%s now presents %s, issued by %s; in %s it presented %s%s%s%s.",
				  who, cw, fact(f, "issuing_ca", "?"), base, old,
				  ca ? ", issued by " : " from the same CA", ca ? old_ca : "",
				  ca ? ": the issuing CA changed too" : "");
	f->symptom = ca
		? rep_asprintf("Clients that trusted only the old CA reject the new certificate: "
			       "on Lync phones %s, unless the new CA is the FE pool's (issuer-mismatch "
			       "is reported when it is not).", SYMPTOM_12045)
		: rep_asprintf("None if the renewal was planned; clients that pinned the old "
			       "certificate reject the new one.");
	f->remedy = ca
		? rep_asprintf("Check that the change was intended; the new certificate must come "
			       "from the CA that issued the Lync FE pool certificate, or that CA must "
			       "be added for phones with New-CsWebTrustedCACertificate.")
		: rep_asprintf("Check that the change was intended (a planned renewal).");
}

void rep_finding_describe(struct rep *r, struct rep_finding *f)
{
	char who[600], cw[600];
	char *list = names_list(f);
	const struct x509_info *xi = f->cert ? f->cert->xi : NULL;

	server_label(f->server, who, sizeof(who));
	cert_words(f->cert, cw, sizeof(cw));
	free(f->message);
	free(f->symptom);
	free(f->remedy);
	f->message = f->symptom = f->remedy = NULL;
	if (list && !list[0]) {
		free(list);
		list = NULL;
	}

	switch (f->code) {
	case RC_ISSUER_MISMATCH:
		describe_issuer_mismatch(r, f, who);
		break;
	case RC_SAME_DN_DIFFERENT_KEY:
		f->message = rep_asprintf("Two different CAs share the name %s: %s uses the key %s, %s "
					  "uses %s; a client that trusts one rejects certificates of the "
					  "other.", fact(f, "issuing_ca", "?"), who,
					  fact(f, "issuing_ca_key_id", "?"), fact(f, "other_server", "another server"),
					  fact(f, "other_ca_key_id", "?"));
		f->symptom = rep_asprintf("Clients that hold only the other CA certificate, such as "
					  "Lync phones trusting the FE pool's CA, fail with %s although "
					  "the issuer name looks right.", SYMPTOM_12045);
		f->remedy = rep_asprintf("Compare the CAs by key, not name: on a Windows server, "
					 "Get-ChildItem Cert:\\LocalMachine\\Root,Cert:\\LocalMachine\\CA | "
					 "Format-List Subject,Thumbprint,SerialNumber shows both; reissue the "
					 "certificate of %s from the same CA key as the other side (after a CA "
					 "renewal with a new key, from the current one), or trust both CA "
					 "certificates on the clients (phones: New-CsWebTrustedCACertificate).",
					 rep_server_name(f->server)[0] ? rep_server_name(f->server) : "this server");
		break;
	case RC_LOOKALIKE_CA_NAME:
		f->message = rep_asprintf("%s uses a certificate from %s, and %s uses one from %s: "
					  "different CAs whose names a person would confuse (%s).", who,
					  fact(f, "issuing_ca", "?"), fact(f, "other_server", "another server"),
					  fact(f, "other_ca", "?"), fact(f, "why", "similar names"));
		f->symptom = rep_asprintf("None by itself, but it hides trust failures: both look like "
					  "one CA, while clients that trust only one (Lync phones trust the "
					  "FE pool's CA) fail against the other with %s.", SYMPTOM_12045);
		f->remedy = rep_asprintf("Compare CAs by thumbprint, not by name (certutil -verify "
					 "<certificate file>, or Get-ChildItem Cert:\\LocalMachine\\CA,"
					 "Cert:\\LocalMachine\\Root | Format-List Subject,Thumbprint); issue the "
					 "Lync and Exchange certificates from one CA and retire or clearly rename "
					 "the other.");
		break;
	case RC_CLIENT_REJECTED_CERTIFICATE:
		describe_alert(f, who, list);
		break;
	case RC_HANDSHAKE_FAILED:
		describe_failed(f, who, list);
		break;
	case RC_EXPIRED:
	case RC_NOT_YET_VALID:
		describe_validity(f, who, f->code == RC_EXPIRED);
		break;
	case RC_NAME_MISMATCH:
		describe_name(f, who, list);
		break;
	case RC_CHAIN_INCOMPLETE:
		f->message = rep_asprintf("%s sent %s certificate(s) ending below %s, without the "
					  "intermediate CA certificate(s) that link its certificate to a "
					  "root.", who, fact(f, "certificates_sent", "?"),
					  fact(f, "missing_issuer", "?"));
		f->symptom = rep_asprintf("Clients that do not already hold %s fail to build the chain: "
					  "%s on Windows and Lync phones (which cannot fetch missing "
					  "intermediates), \"unable to get local issuer certificate\" "
					  "elsewhere.", fact(f, "missing_issuer", "the intermediate"),
					  SYMPTOM_12045);
		f->remedy = rep_asprintf("Install the intermediate CA certificate(s) of %s in the "
					 "server's Local Computer\\Intermediate Certification Authorities "
					 "store (certutil -addstore CA <intermediate>.cer) and restart the "
					 "service (IIS: iisreset; Lync: Restart-CsWindowsService) so it sends "
					 "the whole chain.", fact(f, "missing_issuer", "the issuer"));
		break;
	case RC_POOL_ISSUER_SPLIT:
		f->message = rep_asprintf("%s uses a certificate issued by %s, while the rest of the "
					  "%s servers use %s (%s).", who, fact(f, "issuing_ca", "?"),
					  rep_role_name(f->server->role), fact(f, "pool_issuing_ca", "?"),
					  fact(f, "pool_chains", "?"));
		f->symptom = rep_asprintf("Clients that trust only the pool's usual CA (Lync phones) "
					  "fail intermittently, whenever this server answers: %s.",
					  SYMPTOM_12045);
		f->remedy = rep_asprintf("Reissue this server's certificate from %s, the CA the rest "
					 "of the pool uses. %s", fact(f, "pool_issuing_ca", "the pool's CA"),
					 f->server->role == ROLE_EXCHANGE
					 ? "Then Enable-ExchangeCertificate -Thumbprint <new thumbprint> -Services IIS."
					 : "Then Set-CsCertificate -Type Default,WebServicesInternal,"
					   "WebServicesExternal -Thumbprint <new thumbprint>.");
		break;
	case RC_WEAK_KEY:
		f->message = rep_asprintf("%s presents %s with a %d-bit %s key.", who, cw, xi->key_bits,
					  xi->key_type);
		f->symptom = rep_asprintf("Current clients reject it (many TLS stacks require 2048-bit "
					  "RSA or 224-bit EC keys; Windows blocks RSA under 1024), and the "
					  "key can be broken.");
		f->remedy = xi && xi->is_ca
			? rep_asprintf("Renew the CA %s with a 2048-bit (or larger) key (certutil "
				       "-renewCert ReuseKeys is not enough: renew with a new key) and "
				       "reissue the certificates below it.", xi->subject)
			: rep_asprintf("Reissue with a 2048-bit or larger RSA key (Exchange: "
				       "New-ExchangeCertificate -KeySize 2048; Lync: Request-CsCertificate "
				       "-KeySize 2048), then assign the new certificate.");
		break;
	case RC_WEAK_SIGNATURE:
		f->message = rep_asprintf("%s presents %s, signed with %s.", who, cw,
					  xi->signature_algorithm);
		f->symptom = rep_asprintf("Browsers and current Windows reject SHA-1 and MD5 signed "
					  "certificates (NET::ERR_CERT_WEAK_SIGNATURE_ALGORITHM); collisions "
					  "make them forgeable.");
		f->remedy = rep_asprintf("Have the CA sign with SHA-256 (on a Windows CA: certutil "
					 "-setreg ca\\csp\\CNGHashAlgorithm SHA256, then restart certsvc) and "
					 "reissue %s.", xi->is_ca ? "the CA certificate and those below it"
					 : "the certificate");
		break;
	case RC_SELF_SIGNED:
		f->message = rep_asprintf("%s presents a self-signed certificate, %s.", who, cw);
		f->symptom = rep_asprintf("No client trusts it unless it was installed on each one: %s "
					  "on Windows clients and Lync phones.", SYMPTOM_12045);
		f->remedy = rep_asprintf("Replace it with a certificate from the CA that issued the "
					 "Lync FE pool certificate (or a public CA the clients trust). %s",
					 f->server->role == ROLE_EXCHANGE
					 ? "Exchange: New-ExchangeCertificate, then Enable-ExchangeCertificate -Services IIS."
					 : "");
		break;
	case RC_CERTIFICATES_HIDDEN:
		/* names: why a key log that had the secrets did not open them. */
		f->message = rep_asprintf("%llu handshake%s with %s used TLS 1.3: the certificates are "
					  "encrypted, so nothing about them was checked.%s%s",
					  (unsigned long long)f->seen.count, f->seen.count == 1 ? "" : "s", who,
					  f->n_names ? " With the key log: " : "",
					  f->n_names ? f->names[0] : "");
		f->symptom = rep_asprintf("None by itself.");
		f->remedy = rep_asprintf(f->n_names
					 ? "Use the key log written by the client of this very capture "
					   "(SSLKEYLOGFILE), or export the server's certificate and pass it "
					   "with --cert ROLE=FILE."
					 : "Capture with the client's key log (SSLKEYLOGFILE) and pass it "
					   "with --keylog FILE, or export the server's certificate and pass it "
					   "with --cert ROLE=FILE.");
		break;
	case RC_RESUMED_NO_CERT:
		f->message = rep_asprintf("%llu handshake%s with %s resumed an earlier session: no "
					  "certificate was on the wire for %s.",
					  (unsigned long long)f->seen.count, f->seen.count == 1 ? "" : "s", who,
					  f->seen.count == 1 ? "it" : "them");
		f->symptom = rep_asprintf("None by itself.");
		f->remedy = rep_asprintf("Capture the start of a session (restart the client or wait "
					 "for its session cache to expire) to see the certificate.");
		break;
	case RC_HANDSHAKE_TRUNCATED:
		f->message = rep_asprintf("The capture lost part of the Certificate message of %s "
					  "(%s); the chain shown may be incomplete.", who,
					  list ? list : "gap or end of capture");
		f->symptom = rep_asprintf("None on the clients; the report may miss certificates.");
		f->remedy = rep_asprintf("Capture with a full snap length (-s 0), a larger buffer (-B), "
					 "or closer to the server.");
		break;
	case RC_MISSING_SERVER_AUTH_EKU:
		f->message = rep_asprintf("%s presents %s, whose Extended Key Usage lacks Server "
					  "Authentication.", who, cw);
		f->symptom = rep_asprintf("Clients refuse it for TLS (\"The certificate is not valid for "
					  "the requested usage\", CERT_E_WRONG_USAGE); Lync services will not "
					  "use it.");
		f->remedy = rep_asprintf("Reissue from a template that includes Server Authentication "
					 "(1.3.6.1.5.5.7.3.1), such as the Web Server template.");
		break;
	case RC_MISSING_CRL_DP:
		f->message = rep_asprintf("%s presents %s, which has no CRL distribution point.",
					  who, cw);
		f->symptom = rep_asprintf("Lync servers and clients check revocation and may reject "
					  "the certificate (\"the revocation function was unable to check "
					  "revocation\").");
		f->remedy = rep_asprintf("Configure a CRL distribution point on the issuing CA (%s: "
					 "certutil -setreg CA\\CRLPublicationURLs ..., restart certsvc) and "
					 "reissue the certificate.", xi->issuer);
		break;
	case RC_CERTIFICATE_CHANGED:
		describe_changed(f, who, cw);
		break;
	case RC_PSS_SIGNATURE:
		f->message = rep_asprintf("%s presents %s, signed with RSASSA-PSS.", who, cw);
		f->symptom = rep_asprintf("Lync and Skype for Business do not support RSASSA-PSS: "
					  "sign-in and server-to-server TLS fail.");
		f->remedy = rep_asprintf("On the CA: certutil -setreg ca\\csp\\AlternateSignatureAlgorithm "
					 "0, restart certsvc, and reissue %s with a PKCS#1 v1.5 signature.",
					 xi->is_ca ? "the CA certificate and those below it" : "the certificate");
		break;
	case RC_COUNT:
		break;
	}
	free(list);
}
