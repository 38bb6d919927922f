/* fuzz_jobs.c - libFuzzer harness for the job parsers (src/jobs): the first
 * input byte picks the MLproject parser (then every entry point is resolved
 * with fixed parameters), the backend config as JSON, as YAML, or shell
 * quoting; the rest is the text. Checks beyond "does not crash": a resolved
 * command has no NUL and an entry point's declared parameters are logged
 * first; a config's integers are UNSET or in range; shell_quote's output,
 * read back by a POSIX single-quote reader, is the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/backend_config.h"
#include "jobs/mlproject.h"
#include "util/shell.h"

static void mlproject_case(const char *text, size_t len)
{
    mlproject *p;
    cerr e;
    if (mlproject_parse(text, len, NULL, &p, &e) != 0)
        return;
    static const char *const params[] = {"alpha=0.5", "n=3", "x='; rm -rf / #", "data=d"};
    for (size_t i = 0; i < p->nentries; i++) {
        mlproject_run r;
        if (mlproject_resolve(p, p->entries[i].name, params, 4, &r, &e) != 0)
            continue;
        if (strlen(r.command) > MLPROJECT_COMMAND_MAX || r.nparams < p->entries[i].nparams)
            abort();
        for (size_t k = 0; k < p->entries[i].nparams; k++)
            if (strcmp(r.params[k].key, p->entries[i].params[k].name) != 0)
                abort();
        mlproject_run_free(&r);
    }
    mlproject_free(p);
}

static void in_range(int64_t v, int64_t max)
{
    if (v != BACKEND_UNSET && (v < 0 || v > max))
        abort();
}

static void config_case(const char *text, size_t len, backend_config_format fmt)
{
    backend_config *c;
    cerr e;
    if (backend_config_parse(text, len, fmt, &c, &e) != 0)
        return;
    const backend_resources *r = &c->resources;
    in_range(r->runtime_s, BACKEND_RUNTIME_MAX);
    in_range(r->memory_mb, BACKEND_MEMORY_MAX_MB);
    in_range(r->nodes, BACKEND_COUNT_MAX);
    in_range(r->total_cpus, BACKEND_COUNT_MAX);
    in_range(r->cpus_per_node, BACKEND_COUNT_MAX);
    in_range(r->gpus_per_node, BACKEND_COUNT_MAX);
    if (c->container != CONTAINER_NONE && c->image == NULL)
        abort();
    backend_config_free(c);
}

/* Read one sh word made of bare characters and '...' runs. */
static void quote_case(const char *text)
{
    sbuf q = SBUF_INIT, back = SBUF_INIT;
    shell_quote(&q, text);
    int in = 0;
    for (const char *s = sbuf_str(&q); *s; s++) {
        if (*s == '\'')
            in = !in;
        else if (!in && *s == '"' && s[1] == '\'' && s[2] == '"')
            sbuf_putc(&back, '\''), s += 2;
        else if (!in && strchr(" \t\n;&|<>()$`\\\"*?[#~", *s) != NULL)
            abort(); /* a character sh would interpret, outside quotes */
        else
            sbuf_putc(&back, *s);
    }
    if (in || strcmp(sbuf_str(&back), text) != 0)
        abort();
    sbuf_free(&q);
    sbuf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] & 3) {
    case 0:
        mlproject_case(text, size - 1);
        break;
    case 1:
        config_case(text, size - 1, BACKEND_CONFIG_JSON);
        break;
    case 2:
        config_case(text, size - 1, BACKEND_CONFIG_YAML);
        break;
    default:
        quote_case(text);
        break;
    }
    free(text);
    return 0;
}
