/* test_auth.c - the auth layer's pieces (src/auth): the password policy and
 * its one message, argon2id hash and verify (right, wrong, dummy, hashes
 * that cannot be verified), HS256 tokens (round trip, expired, tampered
 * payload and signature, alg none and HS512, malformed in many ways, the
 * token never in a message), refresh tokens, base64url, the key file
 * (created 0600, reused, refused when 0644, truncated or a link).
 * MLflow's basic_auth.ini: test_auth_config.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/auth.h"

static const uint8_t test_key[AUTH_KEY_LEN] = "0123456789abcdef0123456789abcdef";

static void expect_msg(const cerr *e, cerr_code code, const char *msg)
{
    assert_int_equal(e->code, code);
    if (strcmp(e->msg, msg) != 0)
        fail_msg("message '%s' is not '%s'", e->msg, msg);
}

/* ---- passwords ---- */

static void test_password_policy(void **state)
{
    (void)state;
    cerr e;
    assert_int_equal(auth_password_check("Abcdef1!", &e), 0);
    assert_int_equal(auth_password_check("pässwörD9", &e), 0); /* non-ASCII is special */
    assert_int_equal(auth_password_check("Ab1!", &e), -1);
    expect_msg(&e, CERR_INVALID_PARAMETER_VALUE, "Password must contain at least 8 characters");
    assert_int_equal(auth_password_check("abcdefgh", &e), -1);
    expect_msg(&e, CERR_INVALID_PARAMETER_VALUE,
               "Password must contain a digit, a special character and an upper-case letter");
    assert_int_equal(auth_password_check("ABCDEFG1!", &e), -1);
    expect_msg(&e, CERR_INVALID_PARAMETER_VALUE, "Password must contain a lower-case letter");
    assert_int_equal(auth_password_check("", &e), -1);
    expect_msg(&e, CERR_INVALID_PARAMETER_VALUE,
               "Password must contain at least 8 characters, a digit, a special character, a "
               "lower-case letter and an upper-case letter");
    assert_int_equal(auth_password_check(NULL, &e), -1);
    /* 7 characters of 2 bytes each: 14 bytes, still too short */
    assert_int_equal(auth_password_check("Ab1éééé", &e), -1);
    expect_msg(&e, CERR_INVALID_PARAMETER_VALUE, "Password must contain at least 8 characters");
    char big[AUTH_PASSWORD_MAX_BYTES + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "A1!", 3);
    assert_int_equal(auth_password_check(big, &e), -1);
    assert_non_null(strstr(e.msg, "at most"));
}

static void test_password_hash_verify(void **state)
{
    (void)state;
    cerr e;
    char *h1, *h2;
    assert_int_equal(auth_password_hash("Secret#123", &h1, &e), 0);
    assert_int_equal(auth_password_hash("Secret#123", &h2, &e), 0);
    assert_int_equal(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_string_not_equal(h1, h2); /* a fresh salt each time */
    assert_false(auth_password_needs_rehash(h1));
    bool ok;
    assert_int_equal(auth_password_verify(h1, "Secret#123", &ok, &e), 0);
    assert_true(ok);
    assert_int_equal(auth_password_verify(h2, "Secret#123", &ok, &e), 0);
    assert_true(ok);
    assert_int_equal(auth_password_verify(h1, "Secret#124", &ok, &e), 0);
    assert_false(ok);
    assert_int_equal(auth_password_verify(h1, "", &ok, &e), 0);
    assert_false(ok);
    assert_int_equal(auth_password_verify(h1, NULL, &ok, &e), 0);
    assert_false(ok);
    free(h2);

    /* The hash of an empty password (an existing deployment's) still works. */
    assert_int_equal(auth_password_hash("", &h2, &e), 0);
    assert_int_equal(auth_password_verify(h2, "", &ok, &e), 0);
    assert_true(ok);
    free(h2);

    /* Hashes that cannot be verified are errors, not mismatches. */
    assert_int_equal(auth_password_verify("pbkdf2:sha256:600000$x$y", "a", &ok, &e), -1);
    assert_int_equal(e.code, CERR_INTERNAL_ERROR);
    assert_false(ok);
    assert_int_equal(auth_password_verify("$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
                                          "a", &ok, &e),
                     -1);
    assert_non_null(strstr(e.msg, "more than the server allows"));
    assert_int_equal(auth_password_verify("$argon2id$v=19$m=19456,t=2,p=1$!!$!!", "a", &ok, &e),
                     -1);
    assert_true(auth_password_needs_rehash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"));
    assert_true(auth_password_needs_rehash("nonsense"));
    free(h1);
}

static void test_password_dummy_verify(void **state)
{
    (void)state;
    /* It runs (twice: the hash is made once) and answers nothing. */
    auth_password_dummy_verify("whatever");
    auth_password_dummy_verify(NULL);
}

/* ---- tokens ---- */

static char *sign(json_t *claims)
{
    char *t;
    cerr e;
    assert_int_equal(auth_jwt_sign(test_key, claims, &t, &e), 0);
    json_decref(claims);
    return t;
}

/* A token made of the given header and payload texts, signed by test_key
 * (sig NULL) or carrying the given signature text. */
static char *forge(const char *header, const char *payload, const char *sig)
{
    char *h = auth_b64url_encode((const uint8_t *)header, strlen(header));
    char *p = auth_b64url_encode((const uint8_t *)payload, strlen(payload));
    char *t = malloc(strlen(h) + strlen(p) + 64);
    sprintf(t, "%s.%s", h, p);
    if (sig) {
        sprintf(t + strlen(t), ".%s", sig);
    } else {
        unsigned char mac[32];
        unsigned int len;
        assert_non_null(HMAC(EVP_sha256(), test_key, AUTH_KEY_LEN, (const unsigned char *)t,
                             strlen(t), mac, &len));
        char *s64 = auth_b64url_encode(mac, len);
        sprintf(t + strlen(t), ".%s", s64);
        free(s64);
    }
    free(h);
    free(p);
    return t;
}

static void expect_refused(const char *token, const char *msg)
{
    json_t *c = (json_t *)1;
    cerr e;
    assert_int_equal(auth_jwt_verify(test_key, token, 1000, &c, &e), -1);
    assert_null(c);
    expect_msg(&e, CERR_UNAUTHENTICATED, msg);
}

static void test_jwt_round_trip(void **state)
{
    (void)state;
    json_t *claims = auth_jwt_claims_new("42", 1000, 3600, "experiment:7");
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "42");
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")), 4600);
    assert_int_equal(strlen(json_string_value(json_object_get(claims, "jti"))), 32);
    char *t = sign(claims);
    assert_int_equal(strncmp(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0);
    json_t *got;
    cerr e;
    assert_int_equal(auth_jwt_verify(test_key, t, 1000, &got, &e), 0);
    assert_string_equal(json_string_value(json_object_get(got, "sub")), "42");
    assert_string_equal(json_string_value(json_object_get(got, "scope")), "experiment:7");
    assert_int_equal(json_integer_value(json_object_get(got, "iat")), 1000);
    json_decref(got);
    assert_int_equal(auth_jwt_verify(test_key, t, 4599, &got, &e), 0);
    json_decref(got);

    /* Expired at exp exactly, and after. */
    got = (json_t *)1;
    assert_int_equal(auth_jwt_verify(test_key, t, 4600, &got, &e), -1);
    assert_null(got);
    expect_msg(&e, CERR_UNAUTHENTICATED, "Token has expired");

    /* Another key: invalid signature. */
    uint8_t other[AUTH_KEY_LEN];
    memcpy(other, test_key, sizeof other);
    other[0] ^= 1;
    assert_int_equal(auth_jwt_verify(other, t, 1000, &got, &e), -1);
    expect_msg(&e, CERR_UNAUTHENTICATED, "Token has an invalid signature");
    assert_null(strstr(e.msg, t));

    /* No scope: no claim. */
    char *t2 = sign(auth_jwt_claims_new("1", 0, 10, NULL));
    assert_int_equal(auth_jwt_verify(test_key, t2, 5, &got, &e), 0);
    assert_null(json_object_get(got, "scope"));
    json_decref(got);
    free(t2);
    free(t);
}

static void test_jwt_tampered(void **state)
{
    (void)state;
    char *t = sign(auth_jwt_claims_new("42", 1000, 3600, NULL));
    char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');

    /* A payload saying sub 1, with the old signature. */
    char *p = auth_b64url_encode((const uint8_t *)"{\"exp\":4600,\"sub\":\"1\"}", 22);
    char *bad = malloc(strlen(t) + strlen(p) + 4);
    sprintf(bad, "%.*s.%s%s", (int)(d1 - t), t, p, d2);
    expect_refused(bad, "Token has an invalid signature");
    free(bad);
    free(p);

    /* One character of the payload changed. */
    bad = strdup(t);
    bad[d1 - t + 3] = bad[d1 - t + 3] == 'A' ? 'B' : 'A';
    expect_refused(bad, "Token has an invalid signature");
    free(bad);

    /* One character of the signature changed; the signature truncated,
     * extended, emptied. */
    bad = strdup(t);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    expect_refused(bad, "Token has an invalid signature");
    bad[n - 4] = '\0';
    expect_refused(bad, "Token has an invalid signature");
    free(bad);
    bad = malloc(n + 8);
    sprintf(bad, "%sAAAA", t);
    expect_refused(bad, "Token has an invalid signature");
    sprintf(bad, "%.*s.", (int)(d2 - t), t);
    expect_refused(bad, "Token has an invalid signature");
    free(bad);
    free(t);
}

static void test_jwt_algorithms(void **state)
{
    (void)state;
    const char *payload = "{\"exp\":99999,\"sub\":\"1\"}";
    char *t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
    t[strlen(t) - 1] = '\0'; /* "header.payload." -> the classic unsigned form */
    strcat(t, ".");
    expect_refused(t, "Token algorithm is not HS256");
    free(t);
    t = forge("{\"alg\":\"none\"}", payload, "AAAA");
    expect_refused(t, "Token algorithm is not HS256");
    free(t);
    t = forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, NULL);
    expect_refused(t, "Token algorithm is not HS256");
    free(t);
    t = forge("{\"alg\":\"hs256\"}", payload, NULL);
    expect_refused(t, "Token algorithm is not HS256");
    free(t);
    t = forge("{\"alg\":\"HS256\\u0000x\"}", payload, NULL); /* jansson refuses NUL */
    expect_refused(t, "Token is malformed");
    free(t);
    t = forge("{\"typ\":\"JWT\"}", payload, NULL);
    expect_refused(t, "Token algorithm is not HS256");
    free(t);
    t = forge("{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", payload, NULL);
    expect_refused(t, "Token is malformed");
    free(t);
}

/* A correctly signed token whose payload is the given text. */
static char *signed_raw(const char *payload)
{
    return forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, NULL);
}

static void test_jwt_malformed(void **state)
{
    (void)state;
    expect_refused(NULL, "Token is malformed");
    expect_refused("", "Token is malformed");
    expect_refused("abc", "Token is malformed");
    expect_refused("a.b", "Token is malformed");
    expect_refused("a.b.c.d", "Token is malformed");
    expect_refused("..", "Token is malformed");
    expect_refused("eyJhbGciOiJIUzI1NiJ9..AAAA", "Token is malformed");
    expect_refused("not base64!.e30.AAAA", "Token is malformed");
    expect_refused("e30=.e30.AAAA", "Token is malformed"); /* padding is not base64url */
    char *big = malloc(AUTH_JWT_MAX_LEN + 10);
    memset(big, 'A', AUTH_JWT_MAX_LEN + 9);
    big[AUTH_JWT_MAX_LEN + 9] = '\0';
    big[10] = '.';
    big[20] = '.';
    expect_refused(big, "Token is malformed");
    free(big);

    /* Signed, but the payload is not what a token must carry. */
    const char *payloads[] = {"[]", "not json", "{}", "{\"exp\":\"99999\"}",
                              "{\"exp\":99999.5}", "{\"exp\":99999,\"sub\":7}",
                              "{\"exp\":99999,\"nbf\":\"x\"}", "{\"exp\":1,\"exp\":99999}"};
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char *t = signed_raw(payloads[i]);
        expect_refused(t, "Token is malformed");
        free(t);
    }
    char *t = signed_raw("{\"exp\":99999,\"nbf\":5000}");
    expect_refused(t, "Token is not valid yet");
    free(t);
    t = signed_raw("{\"exp\":99999,\"nbf\":1000}");
    json_t *c;
    cerr e;
    assert_int_equal(auth_jwt_verify(test_key, t, 1000, &c, &e), 0);
    json_decref(c);
    free(t);

    /* Claims that are not an object cannot be signed. */
    char *out;
    json_t *arr = json_array();
    assert_int_equal(auth_jwt_sign(test_key, arr, &out, &e), -1);
    assert_null(out);
    json_decref(arr);
}

static void test_b64url(void **state)
{
    (void)state;
    const uint8_t data[] = {0xfb, 0xff, 0xfe, 0x00, 0x41};
    for (size_t n = 0; n <= sizeof data; n++) {
        char *s = auth_b64url_encode(data, n);
        assert_null(strchr(s, '='));
        assert_null(strchr(s, '+'));
        assert_null(strchr(s, '/'));
        uint8_t *back;
        size_t len;
        assert_int_equal(auth_b64url_decode(s, strlen(s), &back, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, data, n);
        free(back);
        free(s);
    }
    char *s = auth_b64url_encode(data, 3);
    assert_string_equal(s, "-__-");
    free(s);
    uint8_t *out;
    size_t len;
    assert_int_equal(auth_b64url_decode("A", 1, &out, &len), -1);
    assert_int_equal(auth_b64url_decode("AB+C", 4, &out, &len), -1);
    assert_int_equal(auth_b64url_decode("AB=C", 4, &out, &len), -1);
}

static void test_refresh_token(void **state)
{
    (void)state;
    char t1[AUTH_REFRESH_TOKEN_LEN + 1], t2[AUTH_REFRESH_TOKEN_LEN + 1];
    char h1[AUTH_SHA256_HEX_LEN + 1], h2[AUTH_SHA256_HEX_LEN + 1], again[AUTH_SHA256_HEX_LEN + 1];
    cerr e;
    assert_int_equal(auth_refresh_token_new(t1, h1, &e), 0);
    assert_int_equal(auth_refresh_token_new(t2, h2, &e), 0);
    assert_int_equal(strlen(t1), AUTH_REFRESH_TOKEN_LEN);
    assert_int_equal(strlen(h1), 64);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(h1, h2);
    auth_refresh_token_hash(t1, again);
    assert_string_equal(again, h1);
    auth_refresh_token_hash("abc", again); /* SHA-256("abc") */
    assert_string_equal(again, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* ---- the key file ---- */

typedef struct {
    char dir[64], path[96];
} keydir;

static int key_setup(void **state)
{
    keydir *k = calloc(1, sizeof *k);
    snprintf(k->dir, sizeof k->dir, "/tmp/cairn-key-XXXXXX");
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->path, sizeof k->path, "%s/jwt.key", k->dir);
    *state = k;
    return 0;
}

static int key_teardown(void **state)
{
    keydir *k = *state;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", k->dir);
    assert_int_equal(system(cmd), 0);
    free(k);
    return 0;
}

static void test_key_create_reuse(void **state)
{
    keydir *k = *state;
    uint8_t a[AUTH_KEY_LEN], b[AUTH_KEY_LEN], zero[AUTH_KEY_LEN] = {0};
    bool created;
    cerr e;
    mode_t old = umask(0); /* the mode must not depend on the umask */
    assert_int_equal(auth_key_load_or_create(k->path, a, &created, &e), 0);
    umask(old);
    assert_true(created);
    assert_memory_not_equal(a, zero, AUTH_KEY_LEN);
    struct stat st;
    assert_int_equal(stat(k->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, AUTH_KEY_LEN);
    assert_int_equal(auth_key_load_or_create(k->path, b, &created, &e), 0);
    assert_false(created);
    assert_memory_equal(a, b, AUTH_KEY_LEN);
    /* no temporary file left beside it */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", k->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_key_refused(void **state)
{
    keydir *k = *state;
    uint8_t key[AUTH_KEY_LEN];
    cerr e;
    assert_int_equal(auth_key_load_or_create(k->path, key, NULL, &e), 0);

    assert_int_equal(chmod(k->path, 0644), 0);
    assert_int_equal(auth_key_load_or_create(k->path, key, NULL, &e), -1);
    assert_int_equal(e.code, CERR_INVALID_STATE);
    assert_non_null(strstr(e.msg, "mode 0644"));
    assert_int_equal(chmod(k->path, 0640), 0);
    assert_int_equal(auth_key_load_or_create(k->path, key, NULL, &e), -1);
    assert_int_equal(chmod(k->path, 0400), 0); /* read-only for the owner is fine */
    assert_int_equal(auth_key_load_or_create(k->path, key, NULL, &e), 0);
    assert_int_equal(chmod(k->path, 0600), 0);

    assert_int_equal(truncate(k->path, 16), 0);
    assert_int_equal(auth_key_load_or_create(k->path, key, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "has 16 bytes"));
    assert_int_equal(truncate(k->path, 0), 0);
    assert_int_equal(auth_key_load_or_create(k->path, key, NULL, &e), -1);
    assert_int_equal(truncate(k->path, 64), 0);
    assert_int_equal(auth_key_load_or_create(k->path, key, NULL, &e), -1);

    /* A symbolic link, a folder, a missing folder. */
    char link_path[128], dir_path[128], missing[128];
    snprintf(link_path, sizeof link_path, "%s/link.key", k->dir);
    assert_int_equal(symlink(k->path, link_path), 0);
    assert_int_equal(auth_key_load_or_create(link_path, key, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "symbolic link"));
    snprintf(dir_path, sizeof dir_path, "%s/sub", k->dir);
    assert_int_equal(mkdir(dir_path, 0700), 0);
    assert_int_equal(auth_key_load_or_create(dir_path, key, NULL, &e), -1);
    snprintf(missing, sizeof missing, "%s/no/such/key", k->dir);
    assert_int_equal(auth_key_load_or_create(missing, key, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "cannot create key file"));
    assert_int_equal(auth_key_load_or_create("", key, NULL, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test(test_password_dummy_verify),
        cmocka_unit_test(test_jwt_round_trip),
        cmocka_unit_test(test_jwt_tampered),
        cmocka_unit_test(test_jwt_algorithms),
        cmocka_unit_test(test_jwt_malformed),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_refresh_token),
        cmocka_unit_test_setup_teardown(test_key_create_reuse, key_setup, key_teardown),
        cmocka_unit_test_setup_teardown(test_key_refused, key_setup, key_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
