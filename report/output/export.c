/*
 * export.c — --export-certs DIR: every distinct certificate seen on the
 * wire, as evidence to attach to a ticket or to open on Windows.
 *
 * For each certificate, named by the SHA-1 of its DER in lowercase hex
 * (nothing from the wire ever reaches a file name):
 *   <sha1>.pem   PEM, what openssl x509 -in and most tools read
 *   <sha1>.cer   DER, what Windows opens with a double click
 * and at the end index.tsv: one line per certificate with its thumbprint
 * (as Windows shows it), subject, issuer, expiry and the servers that sent it.
 *
 * Files are written only inside DIR: DIR is opened once, every file is
 * created relative to that descriptor (openat) under a temporary name with
 * O_CREAT|O_EXCL|O_NOFOLLOW, then renamed over the final name.  A symlink
 * planted at either name is never followed: O_EXCL refuses it (it is
 * removed and the create retried once), and rename replaces the link
 * itself, not what it points to.  A file that cannot be written gives one
 * warning on stderr; the report goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "report/rep_int.h"

#define EXPORT_MAX_INDEX_BYTES (256u * 1024 * 1024)   /* index.tsv, at most */

int rep_export_dir_open(const char *dir, bool *created, char *err, size_t errlen)
{
	int fd;

	*created = mkdir(dir, 0755) == 0;
	if (!*created && errno != EEXIST) {
		snprintf(err, errlen, "--export-certs %s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "--export-certs %s: %s", dir, strerror(errno));
	return fd;
}

bool rep_export_open(struct rep *r, int dirfd, char *err, size_t errlen)
{
	const char *dir = r->opt.export_dir;
	bool created;

	if (!dir)
		return true;
	if (dirfd < 0) {
		r->export_fd = rep_export_dir_open(dir, &created, err, errlen);
		return r->export_fd >= 0;
	}
	/* The caller's descriptor stays the caller's: the report keeps its own. */
	r->export_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (r->export_fd < 0) {
		snprintf(err, errlen, "--export-certs %s: %s", dir, strerror(errno));
		return false;
	}
	return true;
}

void rep_export_close(struct rep *r)
{
	if (r->export_fd >= 0)
		close(r->export_fd);
	r->export_fd = -1;
}

static void warn_once(struct rep *r, const char *name, int e)
{
	if (r->export_warned)
		return;
	r->export_warned = true;
	fprintf(stderr, "certtrace: --export-certs: cannot write %s/%s: %s\n",
		r->opt.export_dir, name, strerror(e));
}

static bool write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* name: one of ours ("<sha1>.pem", "index.tsv"), never a path. */
static bool write_at(struct rep *r, const char *name, const void *data, size_t len)
{
	char tmp[96];
	int fd = -1, e = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
		fd = openat(r->export_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0644);
		if (fd < 0 && errno == EEXIST)
			unlinkat(r->export_fd, tmp, 0);    /* stale, or planted: the name only */
		else if (fd < 0)
			break;
	}
	if (fd < 0) {
		warn_once(r, name, errno);
		return false;
	}
	bool ok = write_all(fd, data, len);
	if (!ok)
		e = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (ok && renameat(r->export_fd, tmp, r->export_fd, name) != 0) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		unlinkat(r->export_fd, tmp, 0);
		warn_once(r, name, e);
	}
	return ok;
}

void rep_export_cert(struct rep *r, struct rep_cert *c)
{
	const struct x509_info *xi = c->xi;
	char name[64];

	c->exported = true;
	if (r->export_fd < 0 || !xi->der || !xi->der_len)
		return;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pem_len = 0;
	if (bio && PEM_write_bio(bio, "CERTIFICATE", "", xi->der, (long)xi->der_len) > 0)
		pem_len = BIO_get_mem_data(bio, &pem);
	snprintf(name, sizeof(name), "%s.pem", xi->sha1_hex);
	if (pem && pem_len > 0)
		write_at(r, name, pem, (size_t)pem_len);
	else
		warn_once(r, name, ENOMEM);
	BIO_free(bio);
	ERR_clear_error();
	snprintf(name, sizeof(name), "%s.cer", xi->sha1_hex);
	write_at(r, name, xi->der, xi->der_len);
}

/* Tabs and line breaks would split a field: a space instead. */
static void tsv_field(struct buf *b, const char *s, bool last)
{
	for (; s && *s; s++)
		buf_putc(b, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
	buf_putc(b, last ? '\n' : '\t');
}

/* "name addr, name addr" of the servers that sent c (not --cert files). */
static void tsv_servers(struct rep *r, const struct rep_cert *c, struct buf *b)
{
	size_t start = buf_len(b);

	for (size_t j = 0; j < r->server_list.n; j++) {
		const struct rep_server *s = r->server_list.v[j];
		bool sent = false;
		for (unsigned k = 0; k < s->n_chains && !sent; k++)
			for (unsigned m = 0; m < s->chains[k]->n && !sent; m++)
				sent = s->chains[k]->certs[m] == c;
		if (!sent || s->file)
			continue;
		char addr[300];
		const char *name = rep_server_name(s);
		buf_printf(b, "%s%s%s%s", buf_len(b) > start ? ", " : "", name, *name ? " " : "",
			   rep_server_addr(s, addr, sizeof(addr)));
	}
}

void rep_export_index(struct rep *r)
{
	static const char *const head[] = { "sha1", "thumbprint", "subject", "issuer",
					    "not_after", "servers" };
	struct buf tsv = BUF_INIT(EXPORT_MAX_INDEX_BYTES);
	struct buf servers = BUF_INIT(EXPORT_MAX_INDEX_BYTES);

	if (r->export_fd < 0)
		return;
	for (unsigned i = 0; i < 6; i++)
		tsv_field(&tsv, head[i], i == 5);
	for (size_t i = 0; i < r->cert_list.n; i++) {
		const struct rep_cert *c = r->cert_list.v[i];
		const struct x509_info *xi = c->xi;
		if (!c->on_wire || !c->exported)
			continue;
		buf_reset(&servers);
		tsv_servers(r, c, &servers);
		tsv_field(&tsv, xi->sha1_hex, false);
		tsv_field(&tsv, xi->thumbprint, false);
		tsv_field(&tsv, xi->parsed ? xi->subject : "(unparsable)", false);
		tsv_field(&tsv, xi->parsed ? xi->issuer : "", false);
		tsv_field(&tsv, xi->parsed ? xi->not_after_iso : "", false);
		tsv_field(&tsv, buf_ok(&servers) ? buf_str(&servers) : "", true);
	}
	if (buf_ok(&tsv))
		write_at(r, "index.tsv", buf_str(&tsv), buf_len(&tsv));
	else
		warn_once(r, "index.tsv", ENOMEM);
	buf_free(&tsv);
	buf_free(&servers);
}
