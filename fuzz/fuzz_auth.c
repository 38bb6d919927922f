/* fuzz_auth.c - libFuzzer harness for the auth parsers that read outside
 * input (src/auth): byte 0 picks one, the rest is its input.
 *   0  a bearer token (auth_jwt_verify, against a fixed key and clock)
 *   1  a basic_auth.ini text (auth_config_parse)
 *   2  base64url (auth_b64url_decode; what decodes must encode back to it)
 * Beyond "does not crash": a token is only ever accepted with HS256 and a
 * correct signature, so random bytes must never verify; a parsed config
 * has its four required values and a known default_permission. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

static const uint8_t fuzz_key[AUTH_KEY_LEN] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    cerr e;
    switch (data[0] % 3) {
    case 0: {
        char *tok = malloc(n + 1);
        memcpy(tok, in, n);
        tok[n] = '\0';
        json_t *claims;
        if (auth_jwt_verify(fuzz_key, tok, 1000, &claims, &e) == 0)
            abort(); /* forging an HMAC-SHA256 by chance: never */
        if (e.code != CERR_UNAUTHENTICATED || claims != NULL)
            abort();
        free(tok);
        break;
    }
    case 1: {
        auth_config c;
        if (auth_config_parse(in, n, &c, &e) == 0) {
            if (!c.database_uri || !c.admin_username || !c.admin_password ||
                !c.authorization_function || !auth_permission_get(c.default_permission))
                abort();
            auth_config_free(&c);
        } else if (e.code != CERR_INVALID_PARAMETER_VALUE) {
            abort();
        }
        break;
    }
    default: {
        uint8_t *out;
        size_t len;
        if (auth_b64url_decode(in, n, &out, &len) == 0) {
            char *back = auth_b64url_encode(out, len);
            /* a decodable text re-encodes to itself up to its unused low bits */
            if (strlen(back) != n)
                abort();
            free(back);
            free(out);
        }
        break;
    }
    }
    return 0;
}
