/* jwt.c - access tokens (JWT, HS256) and refresh tokens.
 *
 * Why HS256 and nothing else: one server (or several sharing one key file)
 * both signs and checks, so a symmetric MAC is enough, and accepting one
 * algorithm only closes the classic JWT holes (alg "none", an RS/HS
 * confusion). The signature is checked before any claim is believed, with
 * CRYPTO_memcmp so that its time does not depend on where it differs.
 *
 * Refresh tokens are not JWTs: 32 random bytes, handed to the client once
 * and kept by the store only as SHA-256, so that a copy of the database
 * does not hold usable tokens, and each can be revoked.
 *
 * Messages never quote a token. */
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "../util/misc.h"
#include "../util/sbuf.h"

#define AUTH_JWT_SIG_LEN 32u /* HMAC-SHA256 */

char *auth_b64url_encode(const uint8_t *data, size_t n)
{
    size_t cap = 4 * ((n + 2) / 3) + 1;
    unsigned char *out = malloc(cap);
    if (out == NULL)
        abort();
    int len = n ? EVP_EncodeBlock(out, data, (int)n) : 0;
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return (char *)out;
}

int auth_b64url_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (len % 4 == 1 || len > AUTH_JWT_MAX_LEN)
        return -1;
    size_t pad = (4 - len % 4) % 4;
    unsigned char *in = malloc(len + pad + 1);
    if (in == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            in[i] = (unsigned char)c;
        else if (c == '-')
            in[i] = '+';
        else if (c == '_')
            in[i] = '/';
        else {
            free(in);
            return -1;
        }
    }
    memset(in + len, '=', pad);
    in[len + pad] = '\0';
    uint8_t *buf = malloc((len + pad) / 4 * 3 + 1);
    if (buf == NULL)
        abort();
    int n = len + pad ? EVP_DecodeBlock(buf, in, (int)(len + pad)) : 0;
    free(in);
    if (n < 0 || (size_t)n < pad) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = (size_t)n - pad;
    return 0;
}

json_t *auth_jwt_claims_new(const char *sub, int64_t now_s, int64_t ttl_s, const char *scope)
{
    char jti[33];
    ids_hex32(jti);
    json_t *c = json_pack("{s:s, s:I, s:I, s:s}", "sub", sub ? sub : "", "iat",
                          (json_int_t)now_s, "exp", (json_int_t)(now_s + ttl_s), "jti", jti);
    if (c == NULL)
        abort();
    if (scope != NULL)
        json_object_set_new(c, "scope", json_string(scope));
    return c;
}

static void auth_hmac(const uint8_t key[AUTH_KEY_LEN], const char *data, size_t n,
                      uint8_t mac[AUTH_JWT_SIG_LEN])
{
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key, (int)AUTH_KEY_LEN, (const unsigned char *)data, n, mac, &len) ==
            NULL ||
        len != AUTH_JWT_SIG_LEN)
        abort(); /* SHA-256 is always there; anything else is a broken libcrypto */
}

int auth_jwt_sign(const uint8_t key[AUTH_KEY_LEN], json_t *claims, char **token, cerr *e)
{
    *token = NULL;
    if (!json_is_object(claims))
        return cerr_set(e, CERR_INTERNAL_ERROR, "token claims must be a JSON object");
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    if (payload == NULL)
        return cerr_set(e, CERR_INTERNAL_ERROR, "token claims cannot be serialised");
    char *h64 = auth_b64url_encode((const uint8_t *)header, strlen(header));
    char *p64 = auth_b64url_encode((const uint8_t *)payload, strlen(payload));
    free(payload);
    sbuf t = SBUF_INIT;
    sbuf_printf(&t, "%s.%s", h64, p64);
    free(h64);
    free(p64);
    uint8_t mac[AUTH_JWT_SIG_LEN];
    auth_hmac(key, sbuf_str(&t), t.len, mac);
    char *s64 = auth_b64url_encode(mac, sizeof mac);
    sbuf_printf(&t, ".%s", s64);
    free(s64);
    *token = sbuf_detach(&t);
    return 0;
}

#define AUTH_MALFORMED "Token is malformed"

/* A base64url part as a JSON object, or NULL. */
static json_t *auth_jwt_json_part(const char *s, size_t n)
{
    uint8_t *raw;
    size_t len;
    if (auth_b64url_decode(s, n, &raw, &len) < 0)
        return NULL;
    json_t *j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The header says HS256 and nothing we would have to understand. */
static int auth_jwt_header_check(const char *s, size_t n, cerr *e)
{
    json_t *h = auth_jwt_json_part(s, n);
    if (h == NULL)
        return cerr_set(e, CERR_UNAUTHENTICATED, AUTH_MALFORMED);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    bool crit = json_object_get(h, "crit") != NULL;
    bool hs256 = alg != NULL && strcmp(alg, "HS256") == 0 &&
                 json_string_length(json_object_get(h, "alg")) == 5;
    json_decref(h);
    if (!hs256)
        return cerr_set(e, CERR_UNAUTHENTICATED, "Token algorithm is not HS256");
    if (crit)
        return cerr_set(e, CERR_UNAUTHENTICATED, AUTH_MALFORMED);
    return 0;
}

/* A NumericDate claim: absent (false), or an integer (true); -1 otherwise. */
static int auth_jwt_time(json_t *claims, const char *name, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 1;
}

int auth_jwt_verify(const uint8_t key[AUTH_KEY_LEN], const char *token, int64_t now_s,
                    json_t **claims, cerr *e)
{
    *claims = NULL;
    size_t n = token ? strnlen(token, AUTH_JWT_MAX_LEN + 1) : 0;
    if (n == 0 || n > AUTH_JWT_MAX_LEN)
        return cerr_set(e, CERR_UNAUTHENTICATED, AUTH_MALFORMED);
    const char *d1 = memchr(token, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - token)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - token)) != NULL ||
        d1 == token || d2 == d1 + 1)
        return cerr_set(e, CERR_UNAUTHENTICATED, AUTH_MALFORMED);
    if (auth_jwt_header_check(token, (size_t)(d1 - token), e) < 0)
        return -1;

    /* The signature, before anything in the payload is believed. */
    uint8_t *sig;
    size_t siglen;
    if (auth_b64url_decode(d2 + 1, n - (size_t)(d2 + 1 - token), &sig, &siglen) < 0)
        return cerr_set(e, CERR_UNAUTHENTICATED, AUTH_MALFORMED);
    uint8_t mac[AUTH_JWT_SIG_LEN];
    auth_hmac(key, token, (size_t)(d2 - token), mac);
    bool good = siglen == AUTH_JWT_SIG_LEN && CRYPTO_memcmp(sig, mac, AUTH_JWT_SIG_LEN) == 0;
    free(sig);
    OPENSSL_cleanse(mac, sizeof mac);
    if (!good)
        return cerr_set(e, CERR_UNAUTHENTICATED, "Token has an invalid signature");

    json_t *c = auth_jwt_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
    int64_t exp = 0, nbf = 0;
    if (c == NULL || auth_jwt_time(c, "exp", &exp) != 1 || auth_jwt_time(c, "nbf", &nbf) < 0 ||
        (json_object_get(c, "sub") && !json_is_string(json_object_get(c, "sub")))) {
        json_decref(c);
        return cerr_set(e, CERR_UNAUTHENTICATED, AUTH_MALFORMED);
    }
    if (now_s >= exp) {
        json_decref(c);
        return cerr_set(e, CERR_UNAUTHENTICATED, "Token has expired");
    }
    if (json_object_get(c, "nbf") && now_s < nbf) {
        json_decref(c);
        return cerr_set(e, CERR_UNAUTHENTICATED, "Token is not valid yet");
    }
    *claims = c;
    return 0;
}

static void auth_hex(const uint8_t *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

void auth_refresh_token_hash(const char *token, char sha256_hex[AUTH_SHA256_HEX_LEN + 1])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    const char *t = token ? token : "";
    SHA256((const unsigned char *)t, strlen(t), md);
    auth_hex(md, sizeof md, sha256_hex);
}

int auth_refresh_token_new(char token[AUTH_REFRESH_TOKEN_LEN + 1],
                           char sha256_hex[AUTH_SHA256_HEX_LEN + 1], cerr *e)
{
    uint8_t raw[AUTH_REFRESH_TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return cerr_set(e, CERR_INTERNAL_ERROR, "no random bytes for a refresh token");
    char *t = auth_b64url_encode(raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    size_t n = strlen(t);
    if (n == AUTH_REFRESH_TOKEN_LEN)
        memcpy(token, t, n + 1);
    OPENSSL_cleanse(t, n);
    free(t);
    if (n != AUTH_REFRESH_TOKEN_LEN)
        return cerr_set(e, CERR_INTERNAL_ERROR, "refresh token of unexpected length");
    auth_refresh_token_hash(token, sha256_hex);
    return 0;
}
