/* artifacts.c - `cairn artifacts list|upload|download`: a run's artifacts,
 * streamed through the server, with a progress bar when stderr is a
 * terminal. Folders are uploaded and downloaded recursively. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/path.h"
#include "../util/sbuf.h"
#include "cmd.h"

static int art_list(const char *noun, int argc, char **argv);
static int art_upload(const char *noun, int argc, char **argv);
static int art_download(const char *noun, int argc, char **argv);

static const cmd_verb art_verbs[] = {
    {"list", "[PATH]", "List a run's artifacts (a folder; default the root).", art_list},
    {"upload", "LOCAL", "Upload a file or a folder (recursively) to the run's artifacts.", art_upload},
    {"download", "PATH", "Download an artifact file or folder.", art_download},
};
#define NVERBS (sizeof art_verbs / sizeof art_verbs[0])

static int art_list(const char *noun, int argc, char **argv)
{
    const char *run = NULL;
    cmd_opt opts[] = {{"run-id", 'r', "RUN_ID", "Run (default $MLFLOW_RUN_ID).", &run, NULL, NULL}, {0}};
    cmd_args a;
    int rc = cmd_parse(noun, &art_verbs[0], opts, 0, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *run_id;
    if ((rc = cmd_run_id(noun, "list", run, &run_id)) != 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    char *text = NULL;
    rc = cairn_artifact_list(c, run_id, a.npos ? a.pos[0] : NULL, &text) < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *j = cmd_json(text);
    if (a.common.json) {
        cmd_print_json(j);
    } else {
        static const char *const h[] = {"PATH", "SIZE"};
        json_t *rows = json_array(), *f;
        size_t i;
        json_array_foreach(json_object_get(j, "files"), i, f) {
            char size[32];
            if (json_is_true(json_object_get(f, "is_dir")))
                snprintf(size, sizeof size, "dir");
            else
                snprintf(size, sizeof size, "%lld", (long long)json_integer_value(json_object_get(f, "file_size")));
            json_array_append_new(rows, json_pack("[s,s]", cmd_str(f, "path"), size));
        }
        cmd_table(h, 2, rows);
        json_decref(rows);
    }
    json_decref(j);
    return CLI_EXIT_OK;
}

static int upload_one(cairn_client *c, const char *run_id, const char *local, const char *dest)
{
    int bar = cmd_progress_wanted();
    int r = cairn_artifact_upload(c, run_id, local, dest, bar ? cmd_progress : NULL, (void *)dest);
    if (bar)
        cmd_progress_end();
    return r;
}

static int upload_tree(cairn_client *c, const char *run_id, const char *local, const char *dest)
{
    struct stat st;
    if (stat(local, &st) < 0) {
        fprintf(stderr, "cairn: cannot read %s: %s\n", local, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (!S_ISDIR(st.st_mode))
        return upload_one(c, run_id, local, dest) < 0 ? cmd_fail() : CLI_EXIT_OK;
    DIR *d = opendir(local);
    if (d == NULL) {
        fprintf(stderr, "cairn: cannot read %s: %s\n", local, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_OK;
    struct dirent *e;
    while (rc == CLI_EXIT_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t nl = strlen(local) + strlen(e->d_name) + 2, nd = strlen(dest) + strlen(e->d_name) + 2;
        char *sub = malloc(nl), *subdest = malloc(nd);
        if (sub == NULL || subdest == NULL) {
            rc = CLI_EXIT_FAIL;
        } else {
            snprintf(sub, nl, "%s/%s", local, e->d_name);
            snprintf(subdest, nd, "%s%s%s", dest, *dest ? "/" : "", e->d_name);
            rc = upload_tree(c, run_id, sub, subdest);
        }
        free(sub);
        free(subdest);
    }
    closedir(d);
    return rc;
}

static const char *base_name(const char *p)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    const char *s = p + n;
    while (s > p && s[-1] != '/')
        s--;
    return s;
}

static int art_upload(const char *noun, int argc, char **argv)
{
    const char *run = NULL, *path = NULL;
    cmd_opt opts[] = {{"run-id", 'r', "RUN_ID", "Run (default $MLFLOW_RUN_ID).", &run, NULL, NULL},
                      {"path", 'p', "DEST", "Destination below the artifact root (default the base name).", &path, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, &art_verbs[1], opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *run_id;
    if ((rc = cmd_run_id(noun, "upload", run, &run_id)) != 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 1);
    if (c == NULL)
        return cmd_status();
    char dest[4096];
    snprintf(dest, sizeof dest, "%s", path ? path : base_name(a.pos[0]));
    size_t n = strlen(dest);
    while (n > 0 && dest[n - 1] == '/')
        dest[--n] = '\0';
    rc = upload_tree(c, run_id, a.pos[0], dest);
    if (rc == CLI_EXIT_OK && cmd_was_spooled(c, run_id))
        cmd_spooled(c, run_id, "the upload");
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && a.common.json)
        puts("{}");
    return rc;
}

/* The folders file goes in. */
static int mkdirs_for(const char *file, cerr *e)
{
    const char *slash = strrchr(file, '/');
    if (slash == NULL || slash == file)
        return 0;
    sbuf dir = SBUF_INIT;
    sbuf_append(&dir, file, (size_t)(slash - file));
    int rc = path_mkdirs(sbuf_str(&dir), 0777, e);
    sbuf_free(&dir);
    return rc;
}

static int download_tree(cairn_client *c, const char *run_id, const char *path, const char *local)
{
    char *text = NULL;
    if (cairn_artifact_list(c, run_id, path, &text) < 0)
        return cmd_fail();
    json_t *j = cmd_json(text), *f;
    json_t *files = json_object_get(j, "files");
    int rc = CLI_EXIT_OK;
    if (json_array_size(files) == 0) {   /* a file (or an empty folder) */
        int bar = cmd_progress_wanted();
        cerr e;
        if (mkdirs_for(local, &e) < 0) {
            fprintf(stderr, "cairn: cannot create the folders of %s: %s\n", local, e.msg);
            rc = CLI_EXIT_FAIL;
        } else if (cairn_artifact_download(c, run_id, path, local, bar ? cmd_progress : NULL, (void *)path) < 0) {
            rc = cmd_fail();
        }
        if (bar)
            cmd_progress_end();
    }
    size_t i;
    json_array_foreach(files, i, f) {
        if (rc != CLI_EXIT_OK)
            break;
        const char *p = cmd_str(f, "path");
        const char *rel = p + strlen(path);
        while (*rel == '/')
            rel++;
        size_t n = strlen(local) + strlen(rel) + 2;
        char *sub = malloc(n);
        if (sub == NULL) {
            rc = CLI_EXIT_FAIL;
            break;
        }
        snprintf(sub, n, "%s/%s", local, rel);
        rc = download_tree(c, run_id, p, sub);
        free(sub);
    }
    json_decref(j);
    return rc;
}

static int art_download(const char *noun, int argc, char **argv)
{
    const char *run = NULL, *out = NULL;
    cmd_opt opts[] = {{"run-id", 'r', "RUN_ID", "Run (default $MLFLOW_RUN_ID).", &run, NULL, NULL},
                      {"output", 'o', "DEST", "Local file or folder (default the base name, here).", &out, NULL, NULL},
                      {0}};
    cmd_args a;
    int rc = cmd_parse(noun, &art_verbs[2], opts, 1, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *run_id;
    if ((rc = cmd_run_id(noun, "download", run, &run_id)) != 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    rc = download_tree(c, run_id, a.pos[0], out ? out : base_name(a.pos[0]));
    cairn_client_close(c);
    if (rc == CLI_EXIT_OK && a.common.json)
        puts("{}");
    return rc;
}

int cli_artifacts(int argc, char **argv)
{
    return cmd_dispatch("artifacts", "Upload, download and list a run's artifacts.", art_verbs, NVERBS, argc, argv);
}

void cli_artifacts_help(void)
{
    cmd_noun_help(stdout, "artifacts", "Upload, download and list a run's artifacts.", art_verbs, NVERBS);
}
