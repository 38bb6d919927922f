/* mlproject_run.c - resolving a run of an MLflow project: the entry point,
 * the user's key=value parameters checked and defaulted, and the final
 * command line with every value shell-quoted (see mlproject.h). */
#include "mlproject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/path.h"
#include "../util/sbuf.h"
#include "../util/shell.h"

#define ERR(...) cerr_set(e, CERR_INVALID_PARAMETER_VALUE, __VA_ARGS__)

/* One user parameter, split at its first '='. */
typedef struct {
    char key[MLPROJECT_NAME_MAX + 1];
    const char *value;
    int used; /* matched a declared parameter */
} upar;

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > MLPROJECT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]) || s[i] == '\0')
            return 0;
    return 1;
}

static int split_params(const char *const *in, size_t n, upar *out, cerr *e)
{
    if (n > MLPROJECT_PARAMS_MAX)
        return ERR("more than %d parameters given", MLPROJECT_PARAMS_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(in[i], '=');
        if (eq == NULL)
            return ERR("parameter '%.200s' is not of the form key=value", in[i]);
        size_t k = (size_t)(eq - in[i]);
        if (!name_ok(in[i], k))
            return ERR("invalid parameter name '%.*s': use 1 to %d letters, digits, '_', '.' or '-'",
                       (int)(k > 200 ? 200 : k), in[i], MLPROJECT_NAME_MAX);
        memcpy(out[i].key, in[i], k);
        out[i].key[k] = '\0';
        out[i].value = eq + 1;
        out[i].used = 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(out[j].key, out[i].key) == 0)
                return ERR("parameter '%s' is given more than once", out[i].key);
    }
    return 0;
}

static int is_int(const char *s)
{
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
    if (*d == '\0' || strspn(d, "0123456789") != strlen(d))
        return 0;
    errno = 0;
    (void)strtoll(s, NULL, 10);
    return errno == 0;
}

static int is_float(const char *s)
{
    if (*s == '\0' || strchr(" \t\n\r\f\v", *s) || strpbrk(s, "xX"))
        return 0;
    char *end;
    (void)strtod(s, &end);
    return *end == '\0';
}

/* MLflow's is_uri: a scheme (a letter, then letters, digits, '+', '-', '.') and ':'. */
static int is_uri(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    return s[n] == ':';
}

static int check_value(const char *entry, const mlproject_param *p, const char *v, int dflt, cerr *e)
{
    const char *what = NULL;
    switch (p->type) {
    case MLPROJECT_INT:
        what = is_int(v) ? NULL : "an int (a whole number such as 10 or -3)";
        break;
    case MLPROJECT_FLOAT:
        what = is_float(v) ? NULL : "a float (a number such as 0.5, -2 or 1e-3)";
        break;
    case MLPROJECT_URI:
        what = is_uri(v) ? NULL : "a uri (with a scheme, such as s3://bucket/key or file:///data)";
        break;
    case MLPROJECT_PATH:
        what = *v ? NULL : "a path (not empty)";
        break;
    case MLPROJECT_STRING:
        break;
    }
    if (what == NULL)
        return 0;
    return ERR("parameter '%s' of entry point '%s' must be %s, got '%.200s'%s", p->name, entry, what, v,
               dflt ? " (its default in the MLproject file)" : "");
}

static const upar *find_upar(upar *u, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(u[i].key, key) == 0) {
            u[i].used = 1;
            return &u[i];
        }
    return NULL;
}

static void add_kv(mlproject_run *r, const char *k, const char *v)
{
    r->params[r->nparams].key = strdup(k);
    r->params[r->nparams].value = strdup(v);
    if (r->params[r->nparams].key == NULL || r->params[r->nparams].value == NULL)
        abort();
    r->nparams++;
}

/* Declared parameters: values from the user or defaults, checked. */
static int declared_values(const mlproject_entry *ep, upar *u, size_t n, mlproject_run *r, cerr *e)
{
    sbuf missing = SBUF_INIT;
    for (size_t i = 0; i < ep->nparams; i++) {
        const mlproject_param *p = &ep->params[i];
        const upar *given = find_upar(u, n, p->name);
        const char *v = given ? given->value : p->default_value;
        if (v == NULL) {
            sbuf_printf(&missing, "%s'%s'", missing.len ? ", " : "", p->name);
            continue;
        }
        if (check_value(ep->name, p, v, given == NULL, e) != 0) {
            sbuf_free(&missing);
            return -1;
        }
        add_kv(r, p->name, v);
    }
    int rc = 0;
    if (missing.len)
        rc = ERR("entry point '%s': no value given for missing parameters: %s (give them as name=value)", ep->name,
                 sbuf_str(&missing));
    sbuf_free(&missing);
    return rc;
}

static const char *value_of(const mlproject_run *r, const char *key, size_t klen)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strlen(r->params[i].key) == klen && strncmp(r->params[i].key, key, klen) == 0)
            return r->params[i].value;
    return NULL;
}

/* The template with {name} replaced by quoted values, {{ and }} by braces. */
static int substitute(const mlproject_entry *ep, const mlproject_run *r, sbuf *out, cerr *e)
{
    const char *s = ep->command;
    while (*s) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            sbuf_putc(out, *s);
            s += 2;
        } else if (*s == '}') {
            return ERR("entry point '%s': a single '}' in its command; write '}}' for a literal brace", ep->name);
        } else if (*s == '{') {
            const char *close = strchr(s + 1, '}');
            if (close == NULL)
                return ERR("entry point '%s': a '{' without '}' in its command; write '{{' for a literal brace",
                           ep->name);
            size_t klen = (size_t)(close - s - 1);
            const char *v = name_ok(s + 1, klen) ? value_of(r, s + 1, klen) : NULL;
            if (v == NULL)
                return ERR("entry point '%s': its command refers to '{%.*s}', which is not a declared parameter",
                           ep->name, (int)(klen > 200 ? 200 : klen), s + 1);
            shell_quote(out, v);
            s = close + 1;
        } else {
            sbuf_putc(out, *s++);
        }
    }
    return 0;
}

/* Parameters the entry point does not declare: ` --key value`, in order. */
static void append_extra(upar *u, size_t n, mlproject_run *r, sbuf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (u[i].used)
            continue;
        sbuf_puts(out, " --");
        shell_quote(out, u[i].key);
        sbuf_putc(out, ' ');
        shell_quote(out, u[i].value);
        add_kv(r, u[i].key, u[i].value);
    }
}

static int is_script(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && (strcmp(name + n - 3, ".py") == 0 || strcmp(name + n - 3, ".sh") == 0);
}

static int unknown_entry(const mlproject *p, const char *entry, cerr *e)
{
    sbuf acc = SBUF_INIT;
    for (size_t i = 0; i < p->nentries; i++)
        sbuf_printf(&acc, "%s%s", i ? ", " : "", p->entries[i].name);
    sbuf_printf(&acc, "%sa .py or .sh file of the project", acc.len ? "; or " : "");
    for (size_t i = 0; i < p->nscripts; i++)
        sbuf_printf(&acc, "%s%s", i ? ", " : " (", p->scripts[i]);
    sbuf_puts(&acc, p->nscripts ? ")" : " (there is none)");
    int rc = cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "entry point '%.200s' not found in project%s%s%s; accepted: %s",
                      entry, p->name ? " '" : "", p->name ? p->name : "", p->name ? "'" : "", sbuf_str(&acc));
    sbuf_free(&acc);
    return rc;
}

/* An entry point that is a script: `python3 FILE` or `bash FILE`. MLflow
 * writes `python`, which Debian and most HPC systems only provide inside a
 * virtual environment; `python3` is there in both. */
static int script_command(const mlproject *p, const char *entry, sbuf *out, cerr *e)
{
    cerr pe;
    struct stat st;
    sbuf full = SBUF_INIT;
    sbuf_printf(&full, "%s/%s", p->dir ? p->dir : ".", entry);
    int ok = path_validate_rel(entry, &pe) == 0 && stat(sbuf_str(&full), &st) == 0 && S_ISREG(st.st_mode);
    sbuf_free(&full);
    if (!ok)
        return unknown_entry(p, entry, e);
    sbuf_puts(out, strcmp(entry + strlen(entry) - 3, ".py") == 0 ? "python3 " : "bash ");
    shell_quote(out, entry);
    return 0;
}

static int resolve(const mlproject *p, const char *entry, upar *u, size_t n, mlproject_run *r, sbuf *cmd, cerr *e)
{
    const mlproject_entry *ep = mlproject_entry_find(p, entry);
    if (ep == NULL && !is_script(entry))
        return unknown_entry(p, entry, e);
    if (ep == NULL)
        return script_command(p, entry, cmd, e);
    if (declared_values(ep, u, n, r, e) != 0)
        return -1;
    return substitute(ep, r, cmd, e);
}

int mlproject_resolve(const mlproject *p, const char *entry, const char *const *params, size_t n,
                      mlproject_run *out, cerr *e)
{
    memset(out, 0, sizeof *out);
    entry = entry && *entry ? entry : "main";
    upar *u = calloc(n ? n : 1, sizeof *u);
    const mlproject_entry *ep = mlproject_entry_find(p, entry);
    out->params = calloc(n + (ep ? ep->nparams : 0) + 1, sizeof *out->params);
    if (u == NULL || out->params == NULL)
        abort();
    sbuf cmd = SBUF_INIT;
    int rc = split_params(params, n, u, e);
    if (rc == 0)
        rc = resolve(p, entry, u, n, out, &cmd, e);
    if (rc == 0)
        append_extra(u, n, out, &cmd);
    if (rc == 0 && cmd.len > MLPROJECT_COMMAND_MAX)
        rc = ERR("entry point '%s': the command would be longer than %d bytes", entry, MLPROJECT_COMMAND_MAX);
    free(u);
    if (rc != 0) {
        sbuf_free(&cmd);
        mlproject_run_free(out);
        return -1;
    }
    out->command = sbuf_detach(&cmd);
    out->entry_point = strdup(entry);
    if (out->entry_point == NULL)
        abort();
    return 0;
}

void mlproject_run_free(mlproject_run *r)
{
    for (size_t i = 0; i < r->nparams; i++) {
        free(r->params[i].key);
        free(r->params[i].value);
    }
    free(r->params);
    free(r->command);
    free(r->entry_point);
    memset(r, 0, sizeof *r);
}
