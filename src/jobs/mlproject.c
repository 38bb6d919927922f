/* mlproject.c - reading an MLflow project: the MLproject file into entry
 * points and an environment, or the scripts of a project without one (see
 * mlproject.h; resolving a run is in mlproject_run.c). */
#include "mlproject.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ytree.h"
#include "../util/path.h"
#include "../util/sbuf.h"

#define ERR(...) cerr_set(e, CERR_INVALID_PARAMETER_VALUE, __VA_ARGS__)

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        abort();
    return p;
}

static const char *const type_names[] = {
    [MLPROJECT_STRING] = "string", [MLPROJECT_FLOAT] = "float", [MLPROJECT_INT] = "int",
    [MLPROJECT_PATH] = "path",     [MLPROJECT_URI] = "uri",
};

const char *mlproject_type_name(mlproject_type t) { return type_names[t]; }

/* Entry point and parameter names: 1..MLPROJECT_NAME_MAX of [A-Za-z0-9_.-]. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MLPROJECT_NAME_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int check_name(const ytree *key, const char *what, cerr *e)
{
    char w[64];
    if (name_ok(key->text))
        return 0;
    return ERR("MLproject: invalid %s name '%.*s'%s: use 1 to %d letters, digits, '_', '.' or '-'", what,
               MLPROJECT_NAME_MAX, key->text, ytree_where(key, w, sizeof w), MLPROJECT_NAME_MAX);
}

static int want(const ytree *t, ytree_kind kind, const char *field, cerr *e)
{
    char w[64];
    if (t->kind == kind && !(kind == YTREE_SCALAR && ytree_is_null(t)))
        return 0;
    const char *expect = kind == YTREE_MAP ? "a mapping" : kind == YTREE_SEQ ? "a list" : "a string";
    return ERR("MLproject: %s must be %s, not %s%s", field, expect, ytree_kind_name(t), ytree_where(t, w, sizeof w));
}

static int parse_type(const ytree *t, const char *param, mlproject_type *out, cerr *e)
{
    char w[64];
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (t->kind == YTREE_SCALAR && strcmp(t->text, type_names[i]) == 0) {
            *out = (mlproject_type)i;
            return 0;
        }
    return ERR("MLproject: parameter '%s' has unknown type '%.64s'%s; accepted: string, float, int, path, uri",
               param, t->kind == YTREE_SCALAR ? t->text : ytree_kind_name(t), ytree_where(t, w, sizeof w));
}

/* `name: type` or `name: {type: T, default: V}` */
static int parse_param(const ytree *key, const ytree *spec, mlproject_param *p, cerr *e)
{
    char w[64];
    if (check_name(key, "parameter", e) != 0)
        return -1;
    p->name = xstrdup(key->text);
    p->type = MLPROJECT_STRING;
    if (spec->kind == YTREE_SCALAR && !ytree_is_null(spec))
        return parse_type(spec, p->name, &p->type, e);
    if (spec->kind != YTREE_MAP)
        return ERR("MLproject: parameter '%s' must be a type name or a mapping with 'type' and 'default', not %s%s",
                   p->name, ytree_kind_name(spec), ytree_where(spec, w, sizeof w));
    const ytree *type = ytree_get(spec, "type"), *def = ytree_get(spec, "default");
    if (type != NULL && !ytree_is_null(type) && parse_type(type, p->name, &p->type, e) != 0)
        return -1;
    if (def == NULL || ytree_is_null(def))
        return 0;
    if (def->kind != YTREE_SCALAR)
        return ERR("MLproject: the default of parameter '%s' must be a single value, not %s%s", p->name,
                   ytree_kind_name(def), ytree_where(def, w, sizeof w));
    p->default_value = xstrdup(def->text);
    return 0;
}

static int parse_entry(const ytree *key, const ytree *spec, mlproject_entry *ep, cerr *e)
{
    if (check_name(key, "entry point", e) != 0)
        return -1;
    ep->name = xstrdup(key->text);
    sbuf f = SBUF_INIT;
    sbuf_printf(&f, "entry point '%s'", ep->name);
    int rc = want(spec, YTREE_MAP, sbuf_str(&f), e);
    const ytree *cmd = rc ? NULL : ytree_get(spec, "command");
    const ytree *params = rc ? NULL : ytree_get(spec, "parameters");
    if (rc == 0 && cmd == NULL)
        rc = ERR("MLproject: entry point '%s' has no 'command'", ep->name);
    sbuf_puts(&f, " command");
    if (rc == 0 && (rc = want(cmd, YTREE_SCALAR, sbuf_str(&f), e)) == 0)
        ep->command = xstrdup(cmd->text);
    sbuf_free(&f);
    if (rc != 0 || params == NULL || ytree_is_null(params))
        return rc;
    if (want(params, YTREE_MAP, "parameters", e) != 0)
        return -1;
    if (params->n / 2 > MLPROJECT_PARAMS_MAX)
        return ERR("MLproject: entry point '%s' declares more than %d parameters", ep->name, MLPROJECT_PARAMS_MAX);
    ep->params = xcalloc(params->n / 2, sizeof *ep->params);
    for (size_t i = 0; i + 1 < params->n; i += 2, ep->nparams++)
        if (parse_param(params->items[i], params->items[i + 1], &ep->params[ep->nparams], e) != 0) {
            ep->nparams++;
            return -1;
        }
    return 0;
}

static int parse_entries(const ytree *eps, mlproject *p, cerr *e)
{
    if (want(eps, YTREE_MAP, "entry_points", e) != 0)
        return -1;
    if (eps->n / 2 > MLPROJECT_ENTRY_POINTS_MAX)
        return ERR("MLproject: more than %d entry points", MLPROJECT_ENTRY_POINTS_MAX);
    p->entries = xcalloc(eps->n / 2, sizeof *p->entries);
    for (size_t i = 0; i + 1 < eps->n; i += 2, p->nentries++)
        if (parse_entry(eps->items[i], eps->items[i + 1], &p->entries[p->nentries], e) != 0) {
            p->nentries++;
            return -1;
        }
    return 0;
}

/* A list of strings into a heap array of heap strings. */
static int string_list(const ytree *t, const char *field, char ***out, size_t *n, cerr *e)
{
    if (want(t, YTREE_SEQ, field, e) != 0)
        return -1;
    *out = xcalloc(t->n, sizeof **out);
    for (size_t i = 0; i < t->n; i++) {
        if (want(t->items[i], YTREE_SCALAR, field, e) != 0)
            return -1;
        (*out)[(*n)++] = xstrdup(t->items[i]->text);
    }
    return 0;
}

/* docker_env.environment: "NAME" (copied from the host) or [name, value]. */
static int docker_environment(const ytree *t, mlproject *p, cerr *e)
{
    const char *field = "docker_env.environment";
    if (want(t, YTREE_SEQ, field, e) != 0)
        return -1;
    p->docker_environment = xcalloc(t->n, sizeof *p->docker_environment);
    for (size_t i = 0; i < t->n; i++) {
        const ytree *it = t->items[i];
        sbuf s = SBUF_INIT;
        if (it->kind == YTREE_SEQ && it->n == 2 && it->items[0]->kind == YTREE_SCALAR &&
            it->items[1]->kind == YTREE_SCALAR)
            sbuf_printf(&s, "%s=%s", it->items[0]->text, it->items[1]->text);
        else if (want(it, YTREE_SCALAR, "an item of docker_env.environment (or a [name, value] pair)", e) != 0)
            return -1;
        else
            sbuf_puts(&s, it->text);
        p->docker_environment[p->ndocker_environment++] = sbuf_detach(&s);
    }
    return 0;
}

static int parse_docker(const ytree *t, mlproject *p, cerr *e)
{
    if (want(t, YTREE_MAP, "docker_env", e) != 0)
        return -1;
    const ytree *image = ytree_get(t, "image"), *vol = ytree_get(t, "volumes"), *env = ytree_get(t, "environment");
    if (image == NULL)
        return ERR("MLproject: docker_env has no 'image'");
    if (want(image, YTREE_SCALAR, "docker_env.image", e) != 0)
        return -1;
    p->docker_image = xstrdup(image->text);
    if (vol != NULL && string_list(vol, "docker_env.volumes", &p->docker_volumes, &p->ndocker_volumes, e) != 0)
        return -1;
    return env == NULL ? 0 : docker_environment(env, p, e);
}

static int parse_env(const ytree *root, mlproject *p, cerr *e)
{
    static const char *const keys[] = {"docker_env", "python_env", "conda_env"};
    const ytree *found = NULL;
    int which = 0;
    for (int i = 0; i < 3; i++) {
        const ytree *t = ytree_get(root, keys[i]);
        if (t == NULL)
            continue;
        if (found != NULL)
            return ERR("MLproject: Project cannot contain multiple environment fields (%s and %s)", keys[which - 1],
                       keys[i]);
        found = t;
        which = i + 1;
    }
    p->env = (mlproject_env)which;
    if (found == NULL)
        return 0;
    if (p->env == MLPROJECT_ENV_DOCKER)
        return parse_docker(found, p, e);
    if (want(found, YTREE_SCALAR, keys[which - 1], e) != 0)
        return -1;
    cerr pe;
    if (path_validate_rel(found->text, &pe) != 0 || found->text[0] == '\0')
        return ERR("MLproject: %s must be a relative path inside the project, not '%.200s'", keys[which - 1],
                   found->text);
    p->env_file = xstrdup(found->text);
    return 0;
}

static int parse_root(const ytree *root, mlproject *p, cerr *e)
{
    if (want(root, YTREE_MAP, "the MLproject file", e) != 0)
        return -1;
    const ytree *name = ytree_get(root, "name"), *eps = ytree_get(root, "entry_points");
    if (name != NULL && !ytree_is_null(name)) {
        if (want(name, YTREE_SCALAR, "name", e) != 0)
            return -1;
        p->name = xstrdup(name->text);
    }
    if (eps != NULL && !ytree_is_null(eps) && parse_entries(eps, p, e) != 0)
        return -1;
    return parse_env(root, p, e);
}

int mlproject_parse(const char *text, size_t len, const char *dir, mlproject **out, cerr *e)
{
    *out = NULL;
    ytree *root;
    cerr ye;
    if (ytree_from_yaml(text, len, &root, &ye) != 0)
        return ERR("MLproject: %s", ye.msg);
    mlproject *p = xcalloc(1, sizeof *p);
    p->dir = dir ? xstrdup(dir) : NULL;
    p->has_file = true;
    int rc = parse_root(root, p, e);
    ytree_free(root);
    if (rc != 0) {
        mlproject_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_script(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && (strcmp(name + n - 3, ".py") == 0 || strcmp(name + n - 3, ".sh") == 0);
}

/* The MLproject file's name in dir (any case, "MLproject" first) and the
 * top-level scripts, sorted. */
static int scan_dir(const char *dir, mlproject *p, sbuf *file, cerr *e)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return cerr_set(e, CERR_RESOURCE_DOES_NOT_EXIST, "project directory '%s': %s", dir, strerror(errno));
    p->scripts = xcalloc(MLPROJECT_SCRIPTS_MAX, sizeof *p->scripts);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcasecmp(de->d_name, "mlproject") == 0 && (file->len == 0 || strcmp(de->d_name, "MLproject") == 0)) {
            sbuf_reset(file);
            sbuf_puts(file, de->d_name);
        } else if (is_script(de->d_name) && p->nscripts < MLPROJECT_SCRIPTS_MAX) {
            p->scripts[p->nscripts++] = xstrdup(de->d_name);
        }
    }
    closedir(d);
    qsort(p->scripts, p->nscripts, sizeof *p->scripts, cmp_str);
    return 0;
}

/* Read at most YTREE_TEXT_MAX bytes of a regular file into out. */
static int read_file(const char *path, sbuf *out, cerr *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return ERR("MLproject: cannot read '%s': %s", path, fd < 0 ? strerror(errno) : "not a regular file");
    }
    if (st.st_size > YTREE_TEXT_MAX) {
        close(fd);
        return ERR("MLproject: '%s' is larger than %d bytes", path, YTREE_TEXT_MAX);
    }
    char buf[8192];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0 && out->len <= YTREE_TEXT_MAX)
        sbuf_append(out, buf, (size_t)r);
    close(fd);
    if (r < 0)
        return ERR("MLproject: cannot read '%s': %s", path, strerror(errno));
    return 0;
}

int mlproject_load(const char *dir, mlproject **out, cerr *e)
{
    *out = NULL;
    mlproject *scan = xcalloc(1, sizeof *scan);
    sbuf file = SBUF_INIT, path = SBUF_INIT, text = SBUF_INIT;
    int rc = scan_dir(dir, scan, &file, e);
    if (rc == 0 && file.len == 0) {
        scan->dir = xstrdup(dir);
        *out = scan;
        scan = NULL;
    } else if (rc == 0) {
        sbuf_printf(&path, "%s/%s", dir, sbuf_str(&file));
        rc = read_file(sbuf_str(&path), &text, e);
        if (rc == 0)
            rc = mlproject_parse(sbuf_str(&text), text.len, dir, out, e);
        if (rc == 0) { /* the parsed project takes over the script list */
            (*out)->scripts = scan->scripts;
            (*out)->nscripts = scan->nscripts;
            scan->scripts = NULL;
            scan->nscripts = 0;
        }
    }
    mlproject_free(scan);
    sbuf_free(&file);
    sbuf_free(&path);
    sbuf_free(&text);
    return rc;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void mlproject_free(mlproject *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nentries; i++) {
        mlproject_entry *ep = &p->entries[i];
        for (size_t j = 0; j < ep->nparams; j++) {
            free(ep->params[j].name);
            free(ep->params[j].default_value);
        }
        free(ep->params);
        free(ep->name);
        free(ep->command);
    }
    free(p->entries);
    free_strings(p->docker_volumes, p->ndocker_volumes);
    free_strings(p->docker_environment, p->ndocker_environment);
    free_strings(p->scripts, p->nscripts);
    free(p->dir);
    free(p->name);
    free(p->env_file);
    free(p->docker_image);
    free(p);
}

const mlproject_entry *mlproject_entry_find(const mlproject *p, const char *name)
{
    for (size_t i = 0; i < p->nentries; i++)
        if (strcmp(p->entries[i].name, name) == 0)
            return &p->entries[i];
    return NULL;
}
