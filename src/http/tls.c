/* tls.c - the server's certificate and private key, read once at start-up.
 *
 * libmicrohttpd serves HTTPS through GnuTLS from PEM text in memory
 * (MHD_OPTION_HTTPS_MEM_CERT / _KEY). MHD keeps only the pointers and hands
 * the text to GnuTLS inside MHD_start_daemon, which parses it into its own
 * credentials; nothing reads the buffers afterwards. So the key's text lives
 * from http_tls_load to http_tls_wipe, which zeroes it once the daemon has
 * started (or failed to).
 *
 * The pair is checked here with OpenSSL (already linked for hashes) before
 * MHD sees it, so that a wrong file gets a message that says what is wrong
 * (not PEM, encrypted, key for another certificate) instead of MHD's "cannot
 * start". No message ever quotes a file's contents: only its path, and
 * OpenSSL's reason text, which names a parse step, not data. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../util/misc.h"
#include "internal.h"

/* A PEM certificate chain or key file larger than this is refused: real
 * ones are a few KB, a chain of ten certificates under 64 KB. */
#define HTTP_TLS_MAX_FILE (1024u * 1024)

/* Zeroes n bytes in a way the compiler may not drop. */
static void http_tls_zero(char *p, size_t n)
{
    if (p != NULL)
        explicit_bzero(p, n);
}

/* Reads path whole into a NUL-terminated heap buffer. */
static int http_tls_read(const char *what, const char *path, char **out, size_t *len, cerr *e)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "TLS %s '%s': %s", what, path,
                        strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)HTTP_TLS_MAX_FILE) {
        close(fd);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "TLS %s '%s': not a regular file of at most %u bytes", what, path,
                        HTTP_TLS_MAX_FILE);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        abort();
    for (;;) {
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int err = errno;
            close(fd);
            http_tls_zero(buf, cap);
            free(buf);
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "TLS %s '%s': %s", what, path,
                            strerror(err));
        }
        n += (size_t)k;
        if (k == 0 || n == cap - 1)
            break;
    }
    close(fd);
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n) {
        http_tls_zero(buf, cap);
        free(buf);
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "TLS %s '%s': empty, or not PEM text (DER is not accepted)", what, path);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* OpenSSL's reason for the last failure (never data), the queue cleared. */
static const char *http_tls_reason(void)
{
    unsigned long code = ERR_peek_last_error();
    const char *r = code ? ERR_reason_error_string(code) : NULL;
    ERR_clear_error();
    return r ? r : "unreadable";
}

/* An encrypted key would make OpenSSL ask for a passphrase on the
 * terminal; answer "none" so it fails instead. */
static int http_tls_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* Parses the certificate (the first of the chain) and the key and checks
 * that they belong together. */
static int http_tls_check(const http_tls *t, const char *cert_path, const char *key_path,
                          cerr *e)
{
    int rc = -1;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    BIO *b = BIO_new_mem_buf(t->cert, (int)t->cert_len);
    if (b == NULL)
        abort();
    cert = PEM_read_bio_X509(b, NULL, http_tls_no_password, NULL);
    BIO_free(b);
    if (cert == NULL) {
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                 "TLS certificate '%s': no PEM certificate in it (%s)", cert_path,
                 http_tls_reason());
        goto done;
    }
    if ((b = BIO_new_mem_buf(t->key, (int)t->key_len)) == NULL)
        abort();
    key = PEM_read_bio_PrivateKey(b, NULL, http_tls_no_password, NULL);
    BIO_free(b);
    if (key == NULL) {
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                 "TLS key '%s': no unencrypted PEM private key in it (%s)", key_path,
                 http_tls_reason());
        goto done;
    }
    if (X509_check_private_key(cert, key) != 1) {
        ERR_clear_error();
        cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                 "TLS key '%s' does not match the certificate '%s'", key_path, cert_path);
        goto done;
    }
    rc = 0;
done:
    X509_free(cert);
    EVP_PKEY_free(key); /* OpenSSL clears a private key's numbers as it frees them */
    return rc;
}

int http_tls_load(const char *cert_path, const char *key_path, http_tls *t, cerr *e)
{
    memset(t, 0, sizeof *t);
    if (http_tls_read("certificate", cert_path, &t->cert, &t->cert_len, e) < 0)
        return -1;
    struct stat st;
    if (stat(key_path, &st) == 0 && (st.st_mode & S_IROTH))
        log_msg(LOG_WARN, "TLS key '%s' is readable by every user (chmod o-r)", key_path);
    if (http_tls_read("key", key_path, &t->key, &t->key_len, e) < 0 ||
        http_tls_check(t, cert_path, key_path, e) < 0) {
        http_tls_wipe(t);
        return -1;
    }
    return 0;
}

void http_tls_wipe(http_tls *t)
{
    if (t->key != NULL) {
        http_tls_zero(t->key, t->key_len);
        free(t->key);
    }
    free(t->cert);
    memset(t, 0, sizeof *t);
}
