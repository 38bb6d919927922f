/* backend_config.c - reading a backend config (JSON or YAML) into a
 * backend_config: the fields as a table, each with its type and place, an
 * error for every unknown or ill-typed field, and the checks across fields
 * (see backend_config.h; value forms are in backend_units.c). */
#include "backend_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/sbuf.h"
#include "ytree.h"

#define ERR(...) cerr_set(e, CERR_INVALID_PARAMETER_VALUE, __VA_ARGS__)

typedef enum {
    F_TEXT,       /* any one-line text */
    F_WORD,       /* a name for a batch system: no blanks or shell characters */
    F_URL,        /* http:// or https:// */
    F_BACKEND,
    F_CONTAINER,
    F_ENV,        /* {NAME: value} or ["NAME=value"] */
    F_LINES,      /* a list of one-line texts (commands) */
    F_WORDS,      /* a list of words (modules) */
    F_OPTIONS,    /* a list of options starting with '-' */
    F_RESOURCES,
    F_RUNTIME,
    F_MEMORY,
    F_COUNT,      /* an integer >= 1 */
    F_COUNT0,     /* an integer >= 0 */
    F_BOOL,
} ftype;

typedef struct {
    const char *name;
    ftype type;
    size_t off;  /* in backend_config, or in backend_resources for Resources' fields */
    size_t noff; /* lists: the offset of the count */
} field;

#define C(m) offsetof(backend_config, m)
#define R(m) offsetof(backend_resources, m)

static const field top_fields[] = {
    {"Backend", F_BACKEND, C(backend), 0},
    {"ContainerRuntime", F_CONTAINER, C(container), 0},
    {"Image", F_TEXT, C(image), 0},
    {"SingularityImage", F_TEXT, C(image), 0},
    {"UnicoreApiUrl", F_URL, C(unicore_api_url), 0},
    {"Account", F_WORD, C(account), 0},
    {"Project", F_WORD, C(account), 0},
    {"Environment", F_ENV, C(env), 0},
    {"Modules", F_WORDS, C(modules), C(nmodules)},
    {"PreRunCommands", F_LINES, C(pre_run), C(npre_run)},
    {"PostRunCommands", F_LINES, C(post_run), C(npost_run)},
    {"SbatchOptions", F_OPTIONS, C(sbatch_options), C(nsbatch_options)},
    {"Resources", F_RESOURCES, C(resources), 0},
};

static const field res_fields[] = {
    {"Runtime", F_RUNTIME, R(runtime_s), 0},     {"Queue", F_WORD, R(queue), 0},
    {"Nodes", F_COUNT, R(nodes), 0},             {"TotalCPUs", F_COUNT, R(total_cpus), 0},
    {"CPUs", F_COUNT, R(total_cpus), 0},         {"CPUsPerNode", F_COUNT, R(cpus_per_node), 0},
    {"GPUsPerNode", F_COUNT0, R(gpus_per_node), 0}, {"Memory", F_MEMORY, R(memory_mb), 0},
    {"Reservation", F_WORD, R(reservation), 0},  {"NodeConstraints", F_TEXT, R(node_constraints), 0},
    {"QoS", F_WORD, R(qos), 0},                  {"Exclusive", F_BOOL, R(exclusive), 0},
};

#define NFIELDS(t) (sizeof(t) / sizeof(t)[0])

static const char *const container_names[] = {"none", "apptainer", "singularity", "charliecloud", "podman"};

const char *container_runtime_name(container_runtime r) { return container_names[r]; }

/* ---- unknown fields: the closest known name ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *closest(const field *t, size_t n, const char *name)
{
    const char *best = NULL;
    size_t bd = 99, limit = strlen(name) / 3 + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, t[i].name);
        if (d < bd) {
            bd = d;
            best = t[i].name;
        }
    }
    return bd <= (limit < 3 ? limit : 3) ? best : NULL;
}

static const field *find_field(const field *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static int unknown_field(const ytree *key, const char *where, int top, cerr *e)
{
    char w[64];
    const field *t = top ? top_fields : res_fields, *other = top ? res_fields : top_fields;
    size_t n = top ? NFIELDS(top_fields) : NFIELDS(res_fields), no = top ? NFIELDS(res_fields) : NFIELDS(top_fields);
    sbuf hint = SBUF_INIT;
    const char *near = closest(t, n, key->text);
    if (find_field(other, no, key->text) != NULL)
        sbuf_printf(&hint, "; it belongs %s", top ? "inside Resources" : "at the top level, not inside Resources");
    else if (near != NULL)
        sbuf_printf(&hint, "; did you mean '%s'?", near);
    else {
        sbuf_puts(&hint, "; known fields:");
        for (size_t i = 0; i < n; i++)
            sbuf_printf(&hint, "%s%s", i ? ", " : " ", t[i].name);
    }
    int rc = ERR("backend config: unknown field '%s%.100s'%s%s", where, key->text, ytree_where(key, w, sizeof w),
                 sbuf_str(&hint));
    sbuf_free(&hint);
    return rc;
}

/* ---- scalars ---- */

/* The text of a scalar field, refusing collections, null and booleans. */
static int scalar(const ytree *v, const char *path, const char **out, cerr *e)
{
    char w[64];
    if (v->kind != YTREE_SCALAR || ytree_is_null(v) || v->style == YTREE_BOOL)
        return ERR("backend config: %s must be a single value, not %s%s", path, ytree_kind_name(v),
                   ytree_where(v, w, sizeof w));
    if (strlen(v->text) > BACKEND_STRING_MAX)
        return ERR("backend config: %s is longer than %d bytes", path, BACKEND_STRING_MAX);
    *out = v->text;
    return 0;
}

static int check_text(const char *s, const char *path, ftype t, cerr *e)
{
    static const char word_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.,:@+=%/-";
    if (*s == '\0')
        return ERR("backend config: %s must not be empty", path);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return ERR("backend config: %s must be one line without control characters", path);
    if ((t == F_WORD || t == F_WORDS) && strspn(s, word_chars) != strlen(s))
        return ERR("backend config: %s '%.100s' may hold only letters, digits and _ . , : @ + = %% / -", path, s);
    if (t == F_URL && strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
        return ERR("backend config: %s '%.100s' must be an http:// or https:// URL", path, s);
    if (t == F_OPTIONS && s[0] != '-')
        return ERR("backend config: %s '%.100s' must be an option starting with '-' (e.g. --mail-type=END)", path, s);
    return 0;
}

static int set_string(char **dst, const char *s, const char *path, ftype t, cerr *e)
{
    if (check_text(s, path, t, e) != 0)
        return -1;
    *dst = strdup(s);
    if (*dst == NULL)
        abort();
    return 0;
}

static int set_choice(int *dst, const char *s, const char *const *names, size_t n, const char *path, cerr *e)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *dst = (int)i;
            return 0;
        }
    sbuf acc = SBUF_INIT;
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&acc, "%s%s", i ? ", " : "", names[i]);
    int rc = ERR("backend config: %s '%.100s' is not one of: %s", path, s, sbuf_str(&acc));
    sbuf_free(&acc);
    return rc;
}

static int set_count(int64_t *dst, const char *s, const char *path, int64_t min, cerr *e)
{
    size_t n = strlen(s);
    int64_t v = 0;
    if (n == 0 || n > 9 || strspn(s, "0123456789") != n || (v = strtoll(s, NULL, 10)) < min || v > BACKEND_COUNT_MAX)
        return ERR("backend config: %s must be a whole number from %lld to %d, not '%.100s'", path, (long long)min,
                   BACKEND_COUNT_MAX, s);
    *dst = v;
    return 0;
}

static int set_bool(int *dst, const ytree *v, const char *path, cerr *e)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    char w[64];
    for (size_t i = 0; v->kind == YTREE_SCALAR && v->style != YTREE_NUMBER && i < 3; i++) {
        if (strcasecmp(v->text, yes[i]) == 0 || strcasecmp(v->text, no[i]) == 0) {
            *dst = strcasecmp(v->text, yes[i]) == 0;
            return 0;
        }
    }
    return ERR("backend config: %s must be true or false, not %s%s", path,
               v->kind == YTREE_SCALAR && !ytree_is_null(v) ? v->text : ytree_kind_name(v), ytree_where(v, w, sizeof w));
}

/* ---- lists and Environment ---- */

static int set_list(char ***dst, size_t *n, const ytree *v, const char *path, ftype t, cerr *e)
{
    char w[64];
    if (v->kind != YTREE_SEQ)
        return ERR("backend config: %s must be a list of strings, not %s%s", path, ytree_kind_name(v),
                   ytree_where(v, w, sizeof w));
    if (v->n > BACKEND_LIST_MAX)
        return ERR("backend config: %s has more than %d entries", path, BACKEND_LIST_MAX);
    *dst = calloc(v->n ? v->n : 1, sizeof **dst);
    if (*dst == NULL)
        abort();
    for (size_t i = 0; i < v->n; i++) {
        char item[200];
        const char *s;
        snprintf(item, sizeof item, "%.160s[%zu]", path, i);
        if (scalar(v->items[i], item, &s, e) != 0 || set_string(&(*dst)[*n], s, item, t, e) != 0)
            return -1;
        (*n)++;
    }
    return 0;
}

static int env_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 256 || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

static int add_env(backend_config *c, const char *name, size_t nlen, const char *value, const char *path, cerr *e)
{
    if (!env_name_ok(name, nlen))
        return ERR("backend config: %s: '%.*s' is not a variable name (letters, digits and '_', not starting with a "
                   "digit)", path, (int)(nlen > 100 ? 100 : nlen), name);
    for (const char *p = value; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return ERR("backend config: %s: the value of %.*s must be one line without control characters", path,
                       (int)nlen, name);
    backend_env_var *ev = &c->env[c->nenv++];
    ev->name = strndup(name, nlen);
    ev->value = strdup(value);
    if (ev->name == NULL || ev->value == NULL)
        abort();
    return 0;
}

/* Environment: {NAME: value} (mantik) or ["NAME=value"] (UNICORE). */
static int set_env(backend_config *c, const ytree *v, cerr *e)
{
    char w[64];
    size_t n = v->kind == YTREE_MAP ? v->n / 2 : v->n;
    if (v->kind == YTREE_SCALAR)
        return ERR("backend config: Environment must be a mapping {NAME: value} or a list [\"NAME=value\"], not %s%s",
                   ytree_kind_name(v), ytree_where(v, w, sizeof w));
    if (n > BACKEND_LIST_MAX)
        return ERR("backend config: Environment has more than %d entries", BACKEND_LIST_MAX);
    c->env = calloc(n ? n : 1, sizeof *c->env);
    if (c->env == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        char path[160];
        const char *s;
        if (v->kind == YTREE_MAP) {
            snprintf(path, sizeof path, "Environment.%.100s", v->items[2 * i]->text);
            const ytree *val = v->items[2 * i + 1];
            s = val->style == YTREE_BOOL ? val->text : NULL; /* true/false are fine as values */
            if (s == NULL && scalar(val, path, &s, e) != 0)
                return -1;
            if (add_env(c, v->items[2 * i]->text, strlen(v->items[2 * i]->text), s, "Environment", e) != 0)
                return -1;
            continue;
        }
        snprintf(path, sizeof path, "Environment[%zu]", i);
        if (scalar(v->items[i], path, &s, e) != 0)
            return -1;
        const char *eq = strchr(s, '=');
        if (eq == NULL)
            return ERR("backend config: %s '%.100s' must be NAME=value", path, s);
        if (add_env(c, s, (size_t)(eq - s), eq + 1, path, e) != 0)
            return -1;
    }
    return 0;
}

/* ---- one field ---- */

/* The other name of an aliased field already set, or NULL. */
static const char *alias_set(const field *t, size_t n, const field *f, const char *base)
{
    int set = 0;
    if (f->type == F_COUNT || f->type == F_RUNTIME || f->type == F_MEMORY)
        set = *(const int64_t *)(base + f->off) != BACKEND_UNSET;
    else if (f->type == F_TEXT || f->type == F_WORD || f->type == F_URL)
        set = *(char *const *)(base + f->off) != NULL;
    for (size_t i = 0; set && i < n; i++)
        if (t[i].off == f->off && &t[i] != f)
            return t[i].name;
    return NULL;
}

static int parse_map(backend_config *c, const ytree *map, int top, cerr *e);

static int set_field(backend_config *c, char *base, const field *f, const ytree *v, const char *path, cerr *e)
{
    const char *s = NULL;
    void *dst = base + f->off;
    switch (f->type) {
    case F_RESOURCES:
        return parse_map(c, v, 0, e);
    case F_ENV:
        return set_env(c, v, e);
    case F_LINES:
    case F_WORDS:
    case F_OPTIONS:
        return set_list(dst, (size_t *)(base + f->noff), v, path, f->type == F_LINES ? F_TEXT : f->type, e);
    case F_BOOL:
        return set_bool(dst, v, path, e);
    default:
        break;
    }
    if (scalar(v, path, &s, e) != 0)
        return -1;
    int choice = 0;
    const char *backend_names[BACKEND_KIND_COUNT];
    cerr ve;
    switch (f->type) {
    case F_BACKEND:
        for (size_t i = 0; i < BACKEND_KIND_COUNT; i++)
            backend_names[i] = backend_kind_name((backend_kind)i);
        if (set_choice(&choice, s, backend_names, BACKEND_KIND_COUNT, path, e) != 0)
            return -1;
        c->backend = (backend_kind)choice;
        return 0;
    case F_CONTAINER:
        if (set_choice(&choice, s, container_names, NFIELDS(container_names), path, e) != 0)
            return -1;
        c->container = (container_runtime)choice;
        return 0;
    case F_RUNTIME:
        return backend_parse_runtime(s, path, dst, &ve) != 0 ? ERR("backend config: %s", ve.msg) : 0;
    case F_MEMORY:
        return backend_parse_memory(s, path, dst, &ve) != 0 ? ERR("backend config: %s", ve.msg) : 0;
    case F_COUNT:
    case F_COUNT0:
        return set_count(dst, s, path, f->type == F_COUNT ? 1 : 0, e);
    default:
        return set_string(dst, s, path, f->type, e);
    }
}

static int parse_map(backend_config *c, const ytree *map, int top, cerr *e)
{
    char w[64];
    const char *where = top ? "" : "Resources.";
    if (map->kind != YTREE_MAP)
        return ERR("backend config: %s must be a mapping, not %s%s", top ? "the config" : "Resources",
                   ytree_kind_name(map), ytree_where(map, w, sizeof w));
    const field *t = top ? top_fields : res_fields;
    size_t n = top ? NFIELDS(top_fields) : NFIELDS(res_fields);
    char *base = top ? (char *)c : (char *)&c->resources;
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const ytree *key = map->items[i];
        const field *f = find_field(t, n, key->text);
        if (f == NULL)
            return unknown_field(key, where, top, e);
        char path[160];
        snprintf(path, sizeof path, "%s%s", where, f->name);
        const char *other = alias_set(t, n, f, base);
        if (other != NULL)
            return ERR("backend config: %s and %s%s are the same setting; give only one", path, where, other);
        if (set_field(c, base, f, map->items[i + 1], path, e) != 0)
            return -1;
    }
    return 0;
}

/* ---- the config as a whole ---- */

static int check_across(backend_config *c, const ytree *root, cerr *e)
{
    int runtime_given = ytree_get(root, "ContainerRuntime") != NULL;
    if (ytree_get(root, "Backend") == NULL && c->unicore_api_url != NULL)
        c->backend = BACKEND_UNICORE; /* a seed-format config means UNICORE */
    if (c->image != NULL && !runtime_given)
        c->container = CONTAINER_APPTAINER;
    if (c->container != CONTAINER_NONE && c->image == NULL)
        return ERR("backend config: ContainerRuntime %s needs an Image (or SingularityImage)",
                   container_names[c->container]);
    if (c->container == CONTAINER_NONE && c->image != NULL)
        return ERR("backend config: an Image is given but ContainerRuntime is none; drop one of them");
    if (c->backend == BACKEND_UNICORE && c->unicore_api_url == NULL)
        return ERR("backend config: Backend unicore needs UnicoreApiUrl");
    if (c->nsbatch_options > 0 && c->backend != BACKEND_SLURM)
        return ERR("backend config: SbatchOptions apply to the slurm backend only, and Backend is %s",
                   backend_kind_name(c->backend));
    return 0;
}

static backend_config *config_new(void)
{
    backend_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    backend_resources *r = &c->resources;
    r->runtime_s = r->nodes = r->total_cpus = r->cpus_per_node = r->gpus_per_node = r->memory_mb = BACKEND_UNSET;
    r->exclusive = BACKEND_UNSET;
    return c;
}

int backend_config_parse(const char *text, size_t len, backend_config_format fmt, backend_config **out, cerr *e)
{
    *out = NULL;
    if (fmt == BACKEND_CONFIG_AUTO) {
        size_t i = 0;
        while (i < len && isspace((unsigned char)text[i]))
            i++;
        fmt = i < len && text[i] == '{' ? BACKEND_CONFIG_JSON : BACKEND_CONFIG_YAML;
    }
    ytree *root;
    cerr te;
    int rc = fmt == BACKEND_CONFIG_JSON ? ytree_from_json(text, len, &root, &te) : ytree_from_yaml(text, len, &root, &te);
    if (rc != 0)
        return ERR("backend config: %s", te.msg);
    backend_config *c = config_new();
    if (!ytree_is_null(root))
        rc = parse_map(c, root, 1, e);
    if (rc == 0)
        rc = check_across(c, root, e);
    ytree_free(root);
    if (rc != 0) {
        backend_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int backend_config_load(const char *path, backend_config **out, cerr *e)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > YTREE_TEXT_MAX) {
        int rc = ERR("backend config: cannot read '%s': %s", path,
                     fd < 0 ? strerror(errno) : !S_ISREG(st.st_mode) ? "not a regular file" : "file too large");
        if (fd >= 0)
            close(fd);
        return rc;
    }
    sbuf text = SBUF_INIT;
    char buf[8192];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0 && text.len <= YTREE_TEXT_MAX)
        sbuf_append(&text, buf, (size_t)r);
    close(fd);
    backend_config_format fmt = ends_with(path, ".json")                               ? BACKEND_CONFIG_JSON
                                : ends_with(path, ".yaml") || ends_with(path, ".yml") ? BACKEND_CONFIG_YAML
                                                                                       : BACKEND_CONFIG_AUTO;
    int rc = r < 0 ? ERR("backend config: cannot read '%s': %s", path, strerror(errno))
                   : backend_config_parse(sbuf_str(&text), text.len, fmt, out, e);
    sbuf_free(&text);
    return rc;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void backend_config_free(backend_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nenv; i++) {
        free(c->env[i].name);
        free(c->env[i].value);
    }
    free(c->env);
    free_list(c->modules, c->nmodules);
    free_list(c->pre_run, c->npre_run);
    free_list(c->post_run, c->npost_run);
    free_list(c->sbatch_options, c->nsbatch_options);
    free(c->image);
    free(c->unicore_api_url);
    free(c->account);
    free(c->resources.queue);
    free(c->resources.reservation);
    free(c->resources.node_constraints);
    free(c->resources.qos);
    free(c);
}
