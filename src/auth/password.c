/* password.c - the password policy and argon2id hashes.
 *
 * Why argon2id through libargon2: it is the reference implementation of
 * RFC 9106, memory-hard (GPU guessing costs memory, not only time), and its
 * encoded form carries its own parameters and salt, so parameters can be
 * raised later without a schema change (auth_password_needs_rehash). The
 * parameters are named limits in auth.h; the measured cost of one hash is
 * written there and in docs/SECURITY.md.
 *
 * Timing: argon2's verify compares tags in constant time, and a login for a
 * user who does not exist runs auth_password_dummy_verify, a verify of the
 * same cost against a hash made once at first use, so the time of an
 * answer does not tell whether a name exists. */
#include "auth.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/validate.h"
#include "../util/sbuf.h"

int auth_password_check(const char *password, cerr *e)
{
    if (password == NULL)
        password = "";
    bool digit = false, special = false, lower = false, upper = false;
    for (const unsigned char *p = (const unsigned char *)password; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digit = true;
        else if (*p >= 'a' && *p <= 'z')
            lower = true;
        else if (*p >= 'A' && *p <= 'Z')
            upper = true;
        else
            special = true; /* punctuation, space, any non-ASCII character */
    }
    if (strlen(password) > AUTH_PASSWORD_MAX_BYTES)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Password must be at most %u bytes long", AUTH_PASSWORD_MAX_BYTES);
    const char *missing[5];
    size_t n = 0;
    char len_msg[48];
    if (validate_utf8_len(password) < AUTH_PASSWORD_MIN_CHARS) {
        snprintf(len_msg, sizeof len_msg, "at least %u characters", AUTH_PASSWORD_MIN_CHARS);
        missing[n++] = len_msg;
    }
    if (!digit)
        missing[n++] = "a digit";
    if (!special)
        missing[n++] = "a special character";
    if (!lower)
        missing[n++] = "a lower-case letter";
    if (!upper)
        missing[n++] = "an upper-case letter";
    if (n == 0)
        return 0;
    sbuf msg = SBUF_INIT;
    sbuf_puts(&msg, "Password must contain ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sbuf_puts(&msg, i + 1 == n ? " and " : ", ");
        sbuf_puts(&msg, missing[i]);
    }
    cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "%s", sbuf_str(&msg));
    sbuf_free(&msg);
    return -1;
}

static int auth_password_len(const char *password, size_t *len, cerr *e)
{
    *len = password ? strlen(password) : 0;
    if (*len > AUTH_PASSWORD_MAX_BYTES)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Password must be at most %u bytes long", AUTH_PASSWORD_MAX_BYTES);
    return 0;
}

int auth_password_hash(const char *password, char **encoded, cerr *e)
{
    *encoded = NULL;
    size_t len;
    if (auth_password_len(password, &len, e) < 0)
        return -1;
    uint8_t salt[AUTH_ARGON2_SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return cerr_set(e, CERR_INTERNAL_ERROR, "no random bytes for a password salt");
    size_t n = argon2_encodedlen(AUTH_ARGON2_T, AUTH_ARGON2_M_KIB, AUTH_ARGON2_P,
                                 AUTH_ARGON2_SALT_LEN, AUTH_ARGON2_HASH_LEN, Argon2_id);
    char *out = malloc(n);
    if (out == NULL)
        abort();
    int rc = argon2id_hash_encoded(AUTH_ARGON2_T, AUTH_ARGON2_M_KIB, AUTH_ARGON2_P,
                                   password ? password : "", len, salt, sizeof salt,
                                   AUTH_ARGON2_HASH_LEN, out, n);
    OPENSSL_cleanse(salt, sizeof salt);
    if (rc != ARGON2_OK) {
        free(out);
        return cerr_set(e, CERR_INTERNAL_ERROR, "argon2id hashing failed: %s",
                        argon2_error_message(rc));
    }
    *encoded = out;
    return 0;
}

/* The parameters of an encoded argon2id hash; false if it is not one. */
static bool auth_argon2_params(const char *encoded, unsigned long *m, unsigned long *t,
                               unsigned long *p)
{
    int used = 0;
    if (encoded == NULL ||
        sscanf(encoded, "$argon2id$v=19$m=%lu,t=%lu,p=%lu$%n", m, t, p, &used) != 3 || used == 0)
        return false;
    return true;
}

int auth_password_verify(const char *encoded, const char *password, bool *ok, cerr *e)
{
    *ok = false;
    unsigned long m, t, p;
    if (!auth_argon2_params(encoded, &m, &t, &p))
        return cerr_set(e, CERR_INTERNAL_ERROR, "stored password hash is not an argon2id hash");
    if (m > AUTH_ARGON2_M_KIB_MAX || t > 64 || p > 64)
        return cerr_set(e, CERR_INTERNAL_ERROR,
                        "stored password hash asks for more than the server allows "
                        "(m=%lu KiB, t=%lu, p=%lu)", m, t, p);
    size_t len;
    if (auth_password_len(password, &len, NULL) < 0)
        return 0; /* longer than any password we hash: no match */
    int rc = argon2id_verify(encoded, password ? password : "", len);
    if (rc == ARGON2_OK) {
        *ok = true;
        return 0;
    }
    if (rc == ARGON2_VERIFY_MISMATCH)
        return 0;
    return cerr_set(e, CERR_INTERNAL_ERROR, "argon2id verification failed: %s",
                    argon2_error_message(rc));
}

/* The hash the dummy verify checks against: of a random password, made
 * with today's parameters at first use. */
static pthread_once_t auth_dummy_once = PTHREAD_ONCE_INIT;
static char *auth_dummy_hash;

static void auth_dummy_init(void)
{
    uint8_t raw[16];
    char pw[2 * sizeof raw + 1];
    if (RAND_bytes(raw, sizeof raw) != 1)
        memset(raw, 0x5a, sizeof raw); /* still a hash of the same cost */
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(pw + 2 * i, 3, "%02x", raw[i]);
    if (auth_password_hash(pw, &auth_dummy_hash, NULL) < 0)
        auth_dummy_hash = NULL;
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(pw, sizeof pw);
}

void auth_password_dummy_verify(const char *password)
{
    pthread_once(&auth_dummy_once, auth_dummy_init);
    if (auth_dummy_hash == NULL)
        return;
    bool ok;
    (void)auth_password_verify(auth_dummy_hash, password, &ok, NULL);
}

bool auth_password_needs_rehash(const char *encoded)
{
    unsigned long m, t, p;
    if (!auth_argon2_params(encoded, &m, &t, &p))
        return true;
    return m != AUTH_ARGON2_M_KIB || t != AUTH_ARGON2_T || p != AUTH_ARGON2_P;
}
