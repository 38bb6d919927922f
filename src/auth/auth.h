/* auth.h - the auth layer's building blocks: password policy and argon2id
 * hashes (password.c), HS256 tokens and refresh tokens (jwt.c), the signing
 * key file (key.c) and MLflow's basic_auth.ini (config.c).
 *
 * Why a layer of its own: api/ (the one door) asks "who is this and what may
 * they do"; the answer needs cryptography and a config file that neither
 * api/ (no crypto in handlers) nor store/ (no files, no secrets) should
 * hold. auth/ calls only store/ and util/ (scripts/check_layers.sh).
 *
 * Conventions: every function returns 0, or -1 with e filled (util/err.h);
 * nothing here prints or logs. Secrets (passwords, keys, tokens) are never
 * copied into an error message, and buffers that held them are wiped with
 * OPENSSL_cleanse before they are freed. */
#ifndef CAIRN_AUTH_H
#define CAIRN_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"

/* ---- passwords (password.c) ---------------------------------------------
 * The seed's policy and argon2id (RFC 9106) hashes through libargon2.
 *
 * Parameters: OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane).
 * Measured on the development machine (2 cores of an AMD EPYC, release
 * build, -O2): one hash 25 ms, one verify 23-24 ms, one dummy verify the
 * same (mean of 20; see docs/SECURITY.md). That is the
 * price of a login, paid again by every Basic-auth request unless api/
 * caches the result. */
#define AUTH_ARGON2_M_KIB 19456u /* memory, KiB */
#define AUTH_ARGON2_T 2u         /* passes */
#define AUTH_ARGON2_P 1u         /* lanes (threads) */
#define AUTH_ARGON2_SALT_LEN 16u /* bytes, from RAND_bytes */
#define AUTH_ARGON2_HASH_LEN 32u /* bytes of tag */
/* The policy (seed 001). Lengths in characters (code points). */
#define AUTH_PASSWORD_MIN_CHARS 8u
/* Longer passwords are refused before hashing, so that nobody can make the
 * server hash megabytes. */
#define AUTH_PASSWORD_MAX_BYTES 1024u
/* A stored hash whose memory cost is above this is refused rather than
 * verified (a corrupted or hostile row must not make the server allocate
 * gigabytes). */
#define AUTH_ARGON2_M_KIB_MAX (1024u * 1024u)

/* The seed's policy: at least 8 characters, a digit, a special character
 * (anything that is neither an ASCII letter nor a digit), a lower-case and
 * an upper-case letter. INVALID_PARAMETER_VALUE with one message naming
 * everything missing, e.g. "Password must contain a digit and an upper-case
 * letter". The password itself is never quoted. */
int auth_password_check(const char *password, cerr *e);

/* An argon2id hash of password in the encoded form
 * "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (heap; free it with free).
 * The policy is not applied here (an existing deployment's admin password
 * may fail it). */
int auth_password_hash(const char *password, char **encoded, cerr *e);

/* Does password match encoded? Constant-time in the password (argon2's
 * verify compares the tags in constant time). *ok is false for a wrong
 * password; -1 only for a hash that cannot be verified (not argon2id, over
 * the limits above, malformed): INTERNAL_ERROR. */
int auth_password_verify(const char *encoded, const char *password, bool *ok, cerr *e);

/* The same work as a verify against a real hash, for a user who does not
 * exist, so that a login's timing does not tell whether the name is known.
 * Always answers "no match". */
void auth_password_dummy_verify(const char *password);

/* Was encoded made with other parameters than today's (so it should be
 * rehashed after the next successful login)? */
bool auth_password_needs_rehash(const char *encoded);

/* ---- tokens (jwt.c) ------------------------------------------------------
 * Access tokens are JWTs (RFC 7519) signed with HMAC-SHA256 (alg HS256
 * only; "none" and every other alg are refused). Refresh tokens are opaque
 * random strings; the store keeps only their SHA-256. */
#define AUTH_KEY_LEN 32u /* bytes of the HS256 key */
/* A refresh token: 32 random bytes as base64url without padding. */
#define AUTH_REFRESH_TOKEN_BYTES 32u
#define AUTH_REFRESH_TOKEN_LEN 43u
/* SHA-256 as 64 lowercase hex digits (+ NUL). */
#define AUTH_SHA256_HEX_LEN 64u
/* A token longer than this is malformed without being parsed. */
#define AUTH_JWT_MAX_LEN 8192u

/* The claims of an access token: sub (the user's id as a string: ids are
 * never reused, so a deleted user's tokens cannot become someone else's),
 * iat and exp (seconds since the epoch), jti (32 random hex digits) and,
 * when scope is not NULL, scope (e.g. "experiment:12" for a job's token).
 * Returns a new object (never NULL). */
json_t *auth_jwt_claims_new(const char *sub, int64_t now_s, int64_t ttl_s, const char *scope);

/* header.payload.signature for claims (any JSON object; keys sorted so the
 * same claims give the same token). *token is heap. */
int auth_jwt_sign(const uint8_t key[AUTH_KEY_LEN], json_t *claims, char **token, cerr *e);

/* Checks token against key at now_s (seconds): three base64url parts, a
 * header whose alg is exactly "HS256" and that names no critical extension,
 * the signature (CRYPTO_memcmp), a payload that is a JSON object with an
 * integer exp, exp > now_s, and nbf <= now_s when present. On success
 * *claims is the payload (caller json_decrefs). On failure UNAUTHENTICATED
 * with "Token is malformed", "Token algorithm is not HS256", "Token has an
 * invalid signature" or "Token has expired"; the token is never quoted. */
int auth_jwt_verify(const uint8_t key[AUTH_KEY_LEN], const char *token, int64_t now_s,
                    json_t **claims, cerr *e);

/* A new refresh token (token: AUTH_REFRESH_TOKEN_LEN chars + NUL) and the
 * SHA-256 hex of it, which is what the store keeps. */
int auth_refresh_token_new(char token[AUTH_REFRESH_TOKEN_LEN + 1],
                           char sha256_hex[AUTH_SHA256_HEX_LEN + 1], cerr *e);
/* The SHA-256 hex of a token a client presented (any string). */
void auth_refresh_token_hash(const char *token, char sha256_hex[AUTH_SHA256_HEX_LEN + 1]);

/* base64url without padding (RFC 7515 §2), exposed for tests and for api/
 * (e.g. decoding HTTP Basic needs plain base64 instead: not this).
 * Encode returns a heap string; decode refuses any character outside the
 * alphabet, padding, and a length that cannot be base64 (n % 4 == 1). */
char *auth_b64url_encode(const uint8_t *data, size_t n);
int auth_b64url_decode(const char *s, size_t len, uint8_t **out, size_t *outlen);

/* ---- the signing key (key.c) ---------------------------------------------
 * AUTH_KEY_LEN random bytes in a file of their own, mode 0600. */

/* Reads the key at path, or, when there is no file, creates it: random
 * bytes written to a temporary file (mode 0600, O_EXCL), fsynced, then
 * linked into place (so a reader never sees half a key, and two servers
 * starting at once agree on one key) and the directory fsynced.
 * *created says which happened (may be NULL). Refused (INVALID_STATE):
 * a file that is not regular, not owned by this user, readable or writable
 * by group or others, or not exactly AUTH_KEY_LEN bytes. The key is never
 * part of a message. */
int auth_key_load_or_create(const char *path, uint8_t key[AUTH_KEY_LEN], bool *created, cerr *e);

/* ---- MLflow's config file (config.c) -------------------------------------
 * basic_auth.ini as mlflow.server.auth reads it with configparser:
 *
 *   [mlflow]
 *   default_permission = READ
 *   database_uri = sqlite:///basic_auth.db
 *   admin_username = admin
 *   admin_password = password1234
 *   authorization_function = mlflow.server.auth:authenticate_request_basic_auth
 *
 * Keys are case-insensitive, '=' or ':' separate, '#' and ';' start a
 * comment line, indented lines continue a value, %(name)s interpolates and
 * %% is a percent sign, values from [DEFAULT] apply to every section; a key
 * or a section given twice is an error (configparser's strict mode), other
 * sections and unknown keys are ignored. The first four keys are required
 * (MLflow raises KeyError without them); authorization_function defaults as
 * MLflow's does. default_permission must be READ, EDIT, MANAGE or
 * NO_PERMISSIONS. Errors are INVALID_PARAMETER_VALUE naming the file's
 * line; values (the password) are never quoted. */
typedef struct auth_config {
    char *default_permission;
    char *database_uri;
    char *admin_username;
    char *admin_password; /* wiped by auth_config_free */
    char *authorization_function;
} auth_config;

#define AUTH_CONFIG_DEFAULT_AUTHZ "mlflow.server.auth:authenticate_request_basic_auth"
/* A config file larger than this is refused unread. */
#define AUTH_CONFIG_MAX_BYTES (1u << 20)

int auth_config_read(const char *path, auth_config *out, cerr *e);
/* The same on text in memory (len bytes; need not be NUL-terminated). */
int auth_config_parse(const char *text, size_t len, auth_config *out, cerr *e);
void auth_config_free(auth_config *c);

/* ---- permissions ---------------------------------------------------------
 * MLflow's levels (mlflow/server/auth/permissions.py). The names are checked
 * by the store (store_permission_check) since the store refuses what MLflow
 * refuses; here is what each allows. */
typedef struct auth_permission {
    const char *name;
    bool can_read, can_update, can_delete, can_manage;
} auth_permission;
/* The level named name, or NULL. */
const auth_permission *auth_permission_get(const char *name);

#endif
