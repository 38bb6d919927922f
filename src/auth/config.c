/* config.c - MLflow's basic_auth.ini, read as mlflow.server.auth reads it
 * (Python's configparser with its defaults), and MLflow's permission levels.
 *
 * Why our own small reader: the file is MLflow's, so an existing
 * deployment's file (MLFLOW_AUTH_CONFIG_PATH) must mean the same thing to
 * Cairn as to MLflow: configparser's rules, not another INI dialect's. What
 * is implemented of them: sections, '=' and ':' delimiters, keys folded to
 * lower case, whitespace around keys and values stripped, full-line '#' and
 * ';' comments (an inline ';' is part of the value, as in configparser),
 * indented continuation lines, empty values, [DEFAULT] inherited by every
 * section, BasicInterpolation (%(key)s and %%) and strict mode (a key or a
 * section twice is an error). Other sections and unknown keys are ignored.
 *
 * The admin password passes through here, so it is never quoted in an
 * error and is wiped when the config is freed. */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../store/store_auth.h"
#include "../util/sbuf.h"

/* ---- permissions ---- */

static const auth_permission auth_permissions[] = {
    {"READ", true, false, false, false},
    {"EDIT", true, true, false, false},
    {"MANAGE", true, true, true, true},
    {"NO_PERMISSIONS", false, false, false, false},
};

const auth_permission *auth_permission_get(const char *name)
{
    for (size_t i = 0; name && i < sizeof auth_permissions / sizeof auth_permissions[0]; i++)
        if (strcmp(auth_permissions[i].name, name) == 0)
            return &auth_permissions[i];
    return NULL;
}

/* ---- the INI reader ---- */

#define AUTH_INI_MAX_DEPTH 10 /* configparser's MAX_INTERPOLATION_DEPTH */

typedef struct ini_kv {
    char *section, *key;
    sbuf value;
    int line;
} ini_kv;

typedef struct ini {
    ini_kv *v;
    size_t n, cap;
} ini;

static void ini_free(ini *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].section);
        free(f->v[i].key);
        if (f->v[i].value.data)
            OPENSSL_cleanse(f->v[i].value.data, f->v[i].value.len);
        sbuf_free(&f->v[i].value);
    }
    free(f->v);
}

static ini_kv *ini_find(ini *f, const char *section, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].section, section) == 0 && strcmp(f->v[i].key, key) == 0)
            return &f->v[i];
    return NULL;
}

static char *ini_strip(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static int ini_parse(const char *text, size_t len, ini *f, cerr *e)
{
    char *section = NULL;
    ini_kv *last = NULL; /* the key a continuation line extends */
    int lineno = 0;
    int rc = 0;
    char **seen = NULL; /* sections already opened (strict mode) */
    size_t nseen = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (memchr(line, '\0', n) != NULL) {
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "line %d: a NUL byte", lineno);
            break;
        }
        size_t ind = 0;
        while (ind < n && (line[ind] == ' ' || line[ind] == '\t'))
            ind++;
        if (ind == n) { /* blank: in configparser it may belong to a value; dropped */
            continue;
        }
        if (line[ind] == '#' || line[ind] == ';')
            continue;
        if (ind > 0 && last != NULL) { /* continuation */
            char *more = ini_strip(line, n);
            sbuf_printf(&last->value, "\n%s", more);
            OPENSSL_cleanse(more, strlen(more));
            free(more);
            continue;
        }
        last = NULL;
        if (line[ind] == '[') {
            const char *close = memchr(line + ind, ']', n - ind);
            if (close == NULL) {
                rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "line %d: a section header "
                              "without ']'", lineno);
                break;
            }
            free(section);
            section = strndup(line + ind + 1, (size_t)(close - line - ind - 1));
            for (size_t i = 0; i < nseen && rc == 0; i++)
                if (strcmp(seen[i], section) == 0)
                    rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                                  "line %d: section [%.64s] already exists", lineno, section);
            seen = realloc(seen, (nseen + 1) * sizeof *seen);
            if (seen == NULL)
                abort();
            seen[nseen++] = strdup(section);
            continue;
        }
        if (section == NULL) {
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "line %d: a key before any [section] header", lineno);
            break;
        }
        size_t d = ind;
        while (d < n && line[d] != '=' && line[d] != ':')
            d++;
        char *key = ini_strip(line + ind, d - ind);
        if (d == n || key[0] == '\0') {
            free(key);
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "line %d: not a 'key = value' line", lineno);
            break;
        }
        for (char *k = key; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        if (ini_find(f, section, key) != NULL) {
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "line %d: option '%.64s' in section [%.64s] already exists", lineno,
                          key, section);
            free(key);
            break;
        }
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 8;
            f->v = realloc(f->v, f->cap * sizeof *f->v);
            if (f->v == NULL)
                abort();
        }
        last = &f->v[f->n++];
        *last = (ini_kv){strdup(section), key, SBUF_INIT, lineno};
        char *value = ini_strip(line + d + 1, n - d - 1);
        sbuf_puts(&last->value, value);
        OPENSSL_cleanse(value, strlen(value));
        free(value);
    }
    free(section);
    for (size_t i = 0; i < nseen; i++)
        free(seen[i]);
    free(seen);
    return rc;
}

/* BasicInterpolation of kv's value in section into out. */
static int ini_interpolate(ini *f, const char *section, const ini_kv *kv, int depth, sbuf *out,
                           cerr *e)
{
    if (depth > AUTH_INI_MAX_DEPTH)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "line %d: interpolation of '%.64s' nests too deep", kv->line, kv->key);
    const char *s = kv->value.data ? kv->value.data : "";
    for (const char *p = s; *p; p++) {
        if (*p != '%') {
            sbuf_putc(out, *p);
            continue;
        }
        if (p[1] == '%') {
            sbuf_putc(out, '%');
            p++;
            continue;
        }
        const char *end = p[1] == '(' ? strstr(p + 2, ")s") : NULL;
        if (end == NULL)
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "line %d: '%%' in the value of '%.64s' must be followed by '%%' or "
                            "'(name)s'", kv->line, kv->key);
        char *name = strndup(p + 2, (size_t)(end - p - 2));
        for (char *k = name; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        const ini_kv *ref = ini_find(f, section, name);
        if (ref == NULL)
            ref = ini_find(f, "DEFAULT", name);
        if (ref == NULL) {
            cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                     "line %d: the value of '%.64s' refers to '%.64s', which is not set",
                     kv->line, kv->key, name);
            free(name);
            return -1;
        }
        free(name);
        if (ini_interpolate(f, section, ref, depth + 1, out, e) < 0)
            return -1;
        p = end + 1;
    }
    return 0;
}

/* The value of key in [mlflow] (or [DEFAULT]); NULL in *out when absent. */
static int ini_get(ini *f, const char *key, char **out, cerr *e)
{
    *out = NULL;
    ini_kv *kv = ini_find(f, "mlflow", key);
    if (kv == NULL)
        kv = ini_find(f, "DEFAULT", key);
    if (kv == NULL)
        return 0;
    sbuf v = SBUF_INIT;
    if (ini_interpolate(f, "mlflow", kv, 1, &v, e) < 0) {
        if (v.data)
            OPENSSL_cleanse(v.data, v.len);
        sbuf_free(&v);
        return -1;
    }
    *out = v.data ? sbuf_detach(&v) : strdup("");
    return 0;
}

void auth_config_free(auth_config *c)
{
    if (c == NULL)
        return;
    if (c->admin_password)
        OPENSSL_cleanse(c->admin_password, strlen(c->admin_password));
    free(c->default_permission);
    free(c->database_uri);
    free(c->admin_username);
    free(c->admin_password);
    free(c->authorization_function);
    memset(c, 0, sizeof *c);
}

int auth_config_parse(const char *text, size_t len, auth_config *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    if (len > AUTH_CONFIG_MAX_BYTES)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "the auth config is larger than %u "
                        "bytes", AUTH_CONFIG_MAX_BYTES);
    ini f = {0};
    int rc = ini_parse(text, len, &f, e);
    bool has_mlflow = false;
    for (size_t i = 0; i < f.n; i++)
        has_mlflow |= strcmp(f.v[i].section, "mlflow") == 0;
    struct {
        const char *key;
        char **field;
    } keys[] = {
        {"default_permission", &out->default_permission},
        {"database_uri", &out->database_uri},
        {"admin_username", &out->admin_username},
        {"admin_password", &out->admin_password},
        {"authorization_function", &out->authorization_function},
    };
    for (size_t i = 0; rc == 0 && i < sizeof keys / sizeof keys[0]; i++)
        rc = ini_get(&f, keys[i].key, keys[i].field, e);
    ini_free(&f);
    if (rc == 0 && !has_mlflow)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "the auth config has no [mlflow] section");
    for (size_t i = 0; rc == 0 && i < 4; i++)
        if (*keys[i].field == NULL)
            rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                          "the auth config's [mlflow] section has no '%s'", keys[i].key);
    if (rc == 0 && out->authorization_function == NULL)
        out->authorization_function = strdup(AUTH_CONFIG_DEFAULT_AUTHZ);
    if (rc == 0 && store_permission_check(out->default_permission, NULL) < 0)
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                      "Invalid default_permission '%.64s'. Valid permissions are: "
                      "('READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')",
                      out->default_permission);
    if (rc < 0)
        auth_config_free(out);
    return rc;
}

int auth_config_read(const char *path, auth_config *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "cannot read the auth config %s: %s",
                        path, strerror(errno));
    sbuf text = SBUF_INIT;
    char buf[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0) {
        sbuf_append(&text, buf, n);
        if (text.len > AUTH_CONFIG_MAX_BYTES)
            break;
    }
    if (ferror(fp))
        rc = cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "cannot read the auth config %s", path);
    fclose(fp);
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc == 0) {
        rc = auth_config_parse(text.data ? text.data : "", text.len, out, e);
        if (rc < 0) {
            /* name the file in front of the parser's message */
            char msg[CERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", e ? e->msg : "");
            cerr_set(e, e ? e->code : CERR_INVALID_PARAMETER_VALUE, "%s: %s", path, msg);
        }
    }
    if (text.data)
        OPENSSL_cleanse(text.data, text.len);
    sbuf_free(&text);
    return rc;
}
