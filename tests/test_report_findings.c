/*
 * test_report_findings.c — the findings table: one complete row per code,
 * the codes and severities of the contract (DESIGN.md), and the order in
 * which findings explain each kind of phone error.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "report/rep_int.h"

TestSuite(rep_findings);

Test(rep_findings, every_code_has_one_complete_row)
{
	for (unsigned c = 0; c < RC_COUNT; c++) {
		const struct rep_finding_def *d = &rep_finding_defs[c];
		cr_assert(d->name && d->name[0], "code %u has no name", c);
		cr_assert(d->title && d->title[0], "%s has no title", d->name);
		cr_assert_not_null(d->describe, "%s has no message", d->name);
		cr_assert(!d->symptom != !d->symptom_text, "%s: a symptom function or text", d->name);
		cr_assert(!d->remedy != !d->remedy_text, "%s: a remedy function or text", d->name);
		cr_assert(d->severity <= REP_CRITICAL, "%s", d->name);
		for (unsigned k = 0; k < c; k++)
			cr_assert_str_neq(rep_finding_defs[k].name, d->name);
	}
}

Test(rep_findings, codes_and_severities_are_the_contract)
{
	static const struct { const char *name; enum rep_severity sev; } want[RC_COUNT] = {
		{ "issuer-mismatch", REP_CRITICAL }, { "same-dn-different-key", REP_CRITICAL },
		{ "lookalike-ca-name", REP_WARNING }, { "client-rejected-certificate", REP_CRITICAL },
		{ "handshake-failed", REP_WARNING }, { "expired", REP_CRITICAL },
		{ "not-yet-valid", REP_CRITICAL }, { "name-mismatch", REP_CRITICAL },
		{ "chain-incomplete", REP_WARNING }, { "pool-issuer-split", REP_WARNING },
		{ "weak-key", REP_WARNING }, { "weak-signature", REP_WARNING },
		{ "self-signed", REP_WARNING }, { "certificates-hidden", REP_INFO },
		{ "resumed-no-cert", REP_INFO }, { "handshake-truncated", REP_WARNING },
		{ "missing-server-auth-eku", REP_WARNING }, { "missing-crl-dp", REP_WARNING },
		{ "certificate-changed", REP_WARNING }, { "pss-signature", REP_WARNING },
		{ "expires-soon", REP_WARNING }, { "public-root-unverified", REP_WARNING },
	};

	/* The order is the order findings of one server are listed in. */
	for (unsigned c = 0; c < RC_COUNT; c++) {
		cr_assert_str_eq(rep_finding_defs[c].name, want[c].name);
		cr_assert_eq(rep_finding_defs[c].severity, want[c].sev, "%s", want[c].name);
	}
}

Test(rep_findings, each_phone_error_class_ranks_its_findings_one_to_n)
{
	for (unsigned c = 0; c < RC_COUNT; c++)
		cr_assert_eq(rep_finding_defs[c].explains[PHONE_NONE], 0);
	for (unsigned cls = PHONE_NONE + 1; cls < PHONE_CLASSES; cls++) {
		unsigned n = 0, seen[RC_COUNT + 1] = { 0 };
		for (unsigned c = 0; c < RC_COUNT; c++) {
			unsigned rank = rep_finding_defs[c].explains[cls];
			cr_assert_leq(rank, RC_COUNT);
			if (rank) {
				cr_assert_eq(seen[rank]++, 0, "class %u: rank %u twice", cls, rank);
				n++;
			}
		}
		cr_assert_gt(n, 0, "class %u: nothing explains it", cls);
		for (unsigned rank = 1; rank <= n; rank++)
			cr_assert_eq(seen[rank], 1, "class %u: no rank %u", cls, rank);
	}
}

Test(rep_findings, an_untrusted_ca_is_explained_likeliest_cause_first)
{
	static const char *const want[] = {
		"issuer-mismatch", "same-dn-different-key", "self-signed", "chain-incomplete",
		"pool-issuer-split", "client-rejected-certificate", "lookalike-ca-name",
		"certificate-changed", "public-root-unverified",
	};

	for (unsigned c = 0; c < RC_COUNT; c++) {
		unsigned rank = rep_finding_defs[c].explains[PHONE_UNTRUSTED];
		if (rank)
			cr_assert_str_eq(rep_finding_defs[c].name, want[rank - 1]);
		else
			for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++)
				cr_assert_str_neq(rep_finding_defs[c].name, want[k]);
	}
}
