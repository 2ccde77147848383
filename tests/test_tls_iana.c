/*
 * test_tls_iana.c — lib/tls_iana: every number's name reads back as that
 * number, and nothing else reads back at all.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/tls_iana.h"

TestSuite(tls_iana);

Test(tls_iana, every_cipher_name_reads_back_as_its_number)
{
	char buf[32];
	unsigned named = 0;

	for (uint32_t v = 0; v <= 0xffff; v++) {
		const char *name = tls_cipher_name((uint16_t)v, buf, sizeof(buf));
		uint16_t code = 0;
		cr_assert(tls_cipher_code(name, &code), "%s", name);
		cr_assert_eq(code, v, "%s read back as 0x%04x", name, code);
		named += strncmp(name, "unknown (", 9) != 0;
	}
	cr_assert_eq(named, 352, "the IANA table has 352 suites");
}

Test(tls_iana, cipher_names_that_no_number_prints_are_refused)
{
	uint16_t code = 0x1234;

	cr_assert(tls_cipher_code("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", &code));
	cr_assert_eq(code, 0xc02f);
	code = 0x1234;
	cr_assert_not(tls_cipher_code("unknown (0xc02f)", &code), "0xc02f prints by its name");
	cr_assert_not(tls_cipher_code("unknown (0x0A0A)", &code), "we print lowercase hex");
	cr_assert_not(tls_cipher_code("unknown (0x0a0a", &code));
	cr_assert_not(tls_cipher_code("unknown (0x0a0a))", &code));
	cr_assert_not(tls_cipher_code("unknown (0x0a0)", &code));
	cr_assert_not(tls_cipher_code("unknown (0xzz0a)", &code));
	cr_assert_not(tls_cipher_code(TLS_IANA_UNKNOWN, &code));
	cr_assert_not(tls_cipher_code("tls_ecdhe_rsa_with_aes_128_gcm_sha256", &code));
	cr_assert_not(tls_cipher_code("", &code));
	cr_assert_not(tls_cipher_code(NULL, &code));
	cr_assert_eq(code, 0x1234, "a refusal leaves the number alone");
	cr_assert(tls_cipher_code("unknown (0x0a0a)", &code));
	cr_assert_eq(code, 0x0a0a);
}

Test(tls_iana, versions_read_back_unless_unknown_or_draft)
{
	unsigned named = 0;

	for (uint32_t v = 0; v <= 0xffff; v++) {
		const char *name = tls_version_name((uint16_t)v);
		uint16_t code = 0;
		bool known = strcmp(name, TLS_IANA_UNKNOWN) && strcmp(name, "TLS 1.3 (draft)");
		cr_assert_eq(tls_version_code(name, &code), known, "%s", name);
		if (known) {
			cr_assert_eq(code, v, "%s", name);
			named++;
		}
	}
	cr_assert_eq(named, 6);
	uint16_t code;
	cr_assert(tls_version_code("TLS 1.3", &code) && code == TLS_VERSION_1_3);
	cr_assert(tls_version_code("SSL 2.0", &code) && code == TLS_VERSION_SSL_2_0);
	cr_assert_str_eq(tls_version_name(0x7f17), "TLS 1.3 (draft)");
	cr_assert_not(tls_version_code("tls 1.2", &code));
}

Test(tls_iana, alerts_read_back_unless_unknown)
{
	unsigned named = 0;

	for (unsigned d = 0; d <= 255; d++) {
		const char *name = tls_alert_name((uint8_t)d);
		uint8_t code = 0;
		bool known = strcmp(name, TLS_IANA_UNKNOWN) != 0;
		cr_assert_eq(tls_alert_code(name, &code), known, "%s", name);
		if (known) {
			cr_assert_eq(code, d, "%s", name);
			named++;
		}
	}
	cr_assert_eq(named, 37);
	uint8_t code;
	cr_assert(tls_alert_code("unknown_ca", &code) && code == TLS_ALERT_UNKNOWN_CA);
	cr_assert(tls_alert_code("protocol_version", &code) && code == TLS_ALERT_PROTOCOL_VERSION);
	cr_assert_not(tls_alert_code(NULL, &code));
	cr_assert_not(tls_alert_code("unknown_CA", &code));
}
