/* test_search.c - MLflow's filter and order_by grammar: every case is a row
 * (filter or order_by, accepted or not, the SQL or the error expected), then
 * an end-to-end run of the compiled SQL against the MLflow 2.9.2 SQLite
 * schema, and checks that request text only ever reaches SQL as a bind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference_schema.h"
#include "store/search.h"
#include "store/search_ast.h" /* the named limits */

/* ---- SQL fragments the tables below are written in ---- */
#define KV(t) "runs.run_uuid IN (SELECT c.run_uuid FROM " t " c WHERE c.\"key\" = ? AND "
#define MET(op) "(" KV("latest_metrics") "NOT c.is_nan AND c.value " op " ?))"
#define MET_NE "(" KV("latest_metrics") "(c.is_nan OR c.value != ?)))"
#define PARAM(cmp) "(" KV("params") cmp "))"
#define TAG(cmp) "(" KV("tags") cmp "))"
#define DS_FROM "EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id"
#define DS_WHERE " WHERE i.destination_type = ? AND i.destination_id = runs.run_uuid AND i.source_type = ? AND "
#define DS(cmp) "(" DS_FROM DS_WHERE cmp "))"
#define DS_CTX(cmp) "(" DS_FROM " JOIN input_tags it ON it.input_uuid = i.input_uuid" DS_WHERE "it.name = ? AND " cmp "))"
#define ILIKE(col) "LOWER(" col ") LIKE LOWER(?)"
#define ETAG(cmp) "(EXISTS (SELECT 1 FROM experiment_tags c WHERE c.experiment_id = experiments.experiment_id AND c.\"key\" = ? AND " cmp "))"
#define SUB(t, col) "(SELECT " col " FROM " t " c WHERE c.run_uuid = runs.run_uuid AND c.\"key\" = ?)"
#define ORD_MET(dir) "COALESCE(" SUB("latest_metrics", "CASE WHEN c.is_nan THEN 1 ELSE 0 END") ", 2), " SUB("latest_metrics", "c.value") " " dir
#define ORD_KV(t, dir) "CASE WHEN " SUB(t, "c.value") " IS NULL THEN 1 ELSE 0 END, " SUB(t, "c.value") " " dir
#define ORD_ATTR(col, dir) "CASE WHEN runs." col " IS NULL THEN 1 ELSE 0 END, runs." col " " dir
#define TIE "runs.start_time DESC, runs.run_uuid ASC"
#define DS_BINDS "T:RUN T:DATASET "

typedef struct {
    const char *in;     /* the filter */
    int ok;
    const char *expect; /* ok: the WHERE text; else a substring of the error */
    const char *binds;  /* ok: the binds, rendered by render_binds() */
} filter_case;

static const filter_case runs_cases[] = {
    /* metrics: every comparator, both prefixes, number forms */
    {"metrics.acc > 0.9", 1, MET(">"), "T:acc D:0.9"},
    {"metric.acc >= 1", 1, MET(">="), "T:acc D:1"},
    {"metrics.acc = -2", 1, MET("="), "T:acc D:-2"},
    {"metrics.acc < .5", 1, MET("<"), "T:acc D:0.5"},
    {"metrics.acc <= 1.", 1, MET("<="), "T:acc D:1"},
    {"metrics.acc != 1e3", 1, MET_NE, "T:acc D:1000"},
    {"metrics.acc > -1.5E-2", 1, MET(">"), "T:acc D:-0.015"},
    {"metrics.acc>1", 1, MET(">"), "T:acc D:1"},
    {"metrics.acc LIKE 1", 0, "Invalid comparator 'LIKE' not one of '{'>', '>=', '!=', '=', '<', '<='}", 0},
    {"metrics.acc == 1", 0, "Invalid comparator '==' not one of", 0},
    {"metrics.acc <> 1", 0, "Invalid comparator '<>' not one of", 0},
    {"metrics.acc > '1'", 0, "Expected numeric value type for metric. Found '1'", 0},
    {"metrics.acc > 0x1F", 0, "Expected numeric value type for metric. Found 0x1F", 0},
    {"metrics.acc > 1e", 0, "Expected numeric value type for metric. Found 1e", 0},
    {"metrics.acc > 1.2.3", 0, "Invalid clause(s) in filter string: '.3'", 0},
    {"metrics.acc IN (1, 2)", 0, "Expected numeric value type for metric. Found (1, 2)", 0},
    /* params: every prefix and comparator */
    {"params.lr = '0.1'", 1, PARAM("c.value = ?"), "T:lr T:0.1"},
    {"param.lr != '0.1'", 1, PARAM("c.value != ?"), "T:lr T:0.1"},
    {"parameter.lr LIKE '0.%'", 1, PARAM("c.value LIKE ?"), "T:lr T:0.%"},
    {"parameters.lr ILIKE '0.%'", 1, PARAM(ILIKE("c.value")), "T:lr T:0.%"},
    {"params.lr > '1'", 0, "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE'}'", 0},
    {"params.lr NOT LIKE 'x'", 0, "Invalid comparator 'NOT LIKE' not one of", 0},
    {"params.lr = 1", 0, "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1", 0},
    {"params.lr = abc", 0, "Parameter value is either not quoted or unidentified quote types used for string value abc", 0},
    {"params.lr IN ('a')", 0, "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('a')", 0},
    /* tags */
    {"tags.team = 'ml'", 1, TAG("c.value = ?"), "T:team T:ml"},
    {"tag.team != 'ml'", 1, TAG("c.value != ?"), "T:team T:ml"},
    {"tags.team LIKE 'm%'", 1, TAG("c.value LIKE ?"), "T:team T:m%"},
    {"tags.team ILIKE 'M%'", 1, TAG(ILIKE("c.value")), "T:team T:M%"},
    {"tags.team <= 'x'", 0, "Invalid comparator '<=' not one of '{'!=', '=', 'LIKE', 'ILIKE'}", 0},
    {"tags.mlflow.runName = 'x'", 1, TAG("c.value = ?"), "T:mlflow.runName T:x"},
    /* quoting of keys and values */
    {"tags.`mlflow.user` = 'x'", 1, TAG("c.value = ?"), "T:mlflow.user T:x"},
    {"tags.\"my key\" = \"v\"", 1, TAG("c.value = ?"), "T:my key T:v"},
    {"tags.'my key' = 'v'", 1, TAG("c.value = ?"), "T:my key T:v"},
    {"`tags`.k = 'v'", 1, TAG("c.value = ?"), "T:k T:v"},
    {"params.a = ''", 1, PARAM("c.value = ?"), "T:a T:"},
    {"params.a = 'it''s'", 1, PARAM("c.value = ?"), "T:a T:it''s"},
    {"params.a = 'C:\\dir\\'", 1, PARAM("c.value = ?"), "T:a T:C:\\dir\\"},
    {"params.a = `v`", 0, "unidentified quote types used for string value `v`", 0},
    /* string attributes, every prefix */
    {"run_id = 'abc'", 1, "(runs.run_uuid = ?)", "T:abc"},
    {"attributes.status != 'FAILED'", 1, "(runs.status != ?)", "T:FAILED"},
    {"attr.user_id LIKE 'bo%'", 1, "(runs.user_id LIKE ?)", "T:bo%"},
    {"attribute.artifact_uri ILIKE '%S3%'", 1, "(" ILIKE("runs.artifact_uri") ")", "T:%S3%"},
    {"run.status = 'RUNNING'", 1, "(runs.status = ?)", "T:RUNNING"},
    {"run_name = 'x'", 1, TAG("c.value = ?"), "T:mlflow.runName T:x"},
    {"attributes.run_name ILIKE 'X%'", 1, TAG(ILIKE("c.value")), "T:mlflow.runName T:X%"},
    {"\"run name\" = 'x'", 1, TAG("c.value = ?"), "T:mlflow.runName T:x"},
    {"`Run name` != 'x'", 1, TAG("c.value != ?"), "T:mlflow.runName T:x"},
    {"attr.`Run Name` LIKE 'x'", 1, TAG("c.value LIKE ?"), "T:mlflow.runName T:x"},
    {"'Run Name' = 'x'", 0, "Invalid comparison clause. Expected 'Identifier' found ''Run Name''", 0},
    {"status > 'x'", 0, "Invalid comparator '>' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}'", 0},
    {"status = 5", 0, "Expected a quoted string value for attributes. Got value 5", 0},
    {"status = FINISHED", 0, "unidentified quote types used for string value FINISHED", 0},
    /* IN / NOT IN: run_id only; MLflow drops ids with capitals */
    {"run_id IN ('ab', 'cd')", 1, "(runs.run_uuid IN (?, ?))", "T:ab T:cd"},
    {"attributes.run_id NOT IN ('ab')", 1, "(runs.run_uuid NOT IN (?))", "T:ab"},
    {"run_id in ('ab','cd',)", 1, "(runs.run_uuid IN (?, ?))", "T:ab T:cd"},
    {"run_id Not In('ab')", 1, "(runs.run_uuid NOT IN (?))", "T:ab"},
    {"run_id IN ('ab', 'CD', '12')", 1, "(runs.run_uuid IN (?))", "T:ab"},
    {"run_id IN ('AB')", 1, "(1=0)", ""},
    {"run_id NOT IN ('AB')", 1, "(1=1)", ""},
    {"run_id IN ('a\\'b', 'c''d')", 1, "(runs.run_uuid IN (?, ?))", "T:a'b T:cd"},
    {"run_id IN ()", 0, "expected a non-empty list of string values, but got empty list", 0},
    {"run_id IN ('a' 'b')", 0, "but got ill-formed list.", 0},
    {"run_id IN ('a',,'b')", 0, "but got ill-formed list.", 0},
    {"run_id IN (\"a\")", 0, "but got ill-formed list.", 0},
    {"run_id IN ('a', 1)", 0, "but got different type in list: ('a', 1)", 0},
    {"run_id IN ('a'", 0, "Invalid clause(s) in filter string: 'run_id', 'IN', '(', ''a''", 0},
    {"run_id IN 'a'", 0, "Invalid clause(s) in filter string: 'run_id', 'IN', ''a''", 0},
    {"status IN ('a')", 0, "Only the 'run_id' attribute supports comparison with a list of quoted string values.", 0},
    {"run_id = ('ab')", 0, "cannot compare with a list of values", 0},
    /* numeric attributes and their alias */
    {"start_time > 5", 1, "(runs.start_time > ?)", "I:5"},
    {"attributes.end_time <= 1.5", 1, "(runs.end_time <= ?)", "D:1.5"},
    {"created >= 10", 1, "(runs.start_time >= ?)", "I:10"},
    {"Created < 10", 1, "(runs.start_time < ?)", "I:10"},
    {"start_time != 1", 1, "(runs.start_time != ?)", "I:1"},
    {"end_time = 99999999999999999999", 1, "(runs.end_time = ?)", "D:1e+20"},
    {"start_time LIKE 5", 0, "Invalid comparator 'LIKE' not one of '{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}", 0},
    {"start_time > '5'", 0, "Expected numeric value type for numeric attribute: start_time. Found '5'", 0},
    /* datasets */
    {"datasets.name = 'mnist'", 1, DS("d.name = ?"), DS_BINDS "T:mnist"},
    {"dataset.digest != 'ab'", 1, DS("d.digest != ?"), DS_BINDS "T:ab"},
    {"dataset.name LIKE 'mn%'", 1, DS("d.name LIKE ?"), DS_BINDS "T:mn%"},
    {"dataset.name ILIKE 'MN%'", 1, DS(ILIKE("d.name")), DS_BINDS "T:MN%"},
    {"dataset.name IN ('MNIST', 'x')", 1, DS("d.name IN (?, ?)"), DS_BINDS "T:MNIST T:x"},
    {"dataset.digest NOT IN ('ab')", 1, DS("d.digest NOT IN (?)"), DS_BINDS "T:ab"},
    {"dataset.context = 'train'", 1, DS_CTX("it.value = ?"), DS_BINDS "T:mlflow.data.context T:train"},
    {"dataset.name > 'x'", 0, "Invalid comparator '>' not one of", 0},
    {"dataset.size = 'x'", 0, "Invalid dataset key 'size' specified. Valid keys are '{'context', 'digest', 'name'}'", 0},
    {"dataset.name = 1", 0, "Expected a quoted string value for dataset attributes. Got value 1", 0},
    /* identifiers */
    {"foo.a = 'x'", 0, "Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']", 0},
    {"Metrics.a > 1", 0, "Invalid entity type 'Metrics'", 0},
    {"bogus = 'x'", 0, "Invalid attribute key 'bogus' specified. Valid keys are '{'Created', 'Run Name', 'Run name', 'artifact_uri', 'created', 'end_time', 'run name', 'run_id', 'run_name', 'start_time', 'status', 'user_id'}'", 0},
    {"lifecycle_stage = 'active'", 0, "Invalid attribute key 'lifecycle_stage'", 0},
    {"1 = 1", 0, "Invalid comparison clause. Expected 'Identifier' found '1'", 0},
    /* AND only; keywords in any case; whitespace */
    {"params.a = 'x' and tags.b = 'y'", 1, PARAM("c.value = ?") " AND " TAG("c.value = ?"), "T:a T:x T:b T:y"},
    {"params.a='x'AND tags.b='y'", 1, PARAM("c.value = ?") " AND " TAG("c.value = ?"), "T:a T:x T:b T:y"},
    {"\tparams.a\n=\r\n'x'  AnD  tags.b like 'y' ", 1, PARAM("c.value = ?") " AND " TAG("c.value LIKE ?"), "T:a T:x T:b T:y"},
    {"params.a ilike 'x'", 1, PARAM(ILIKE("c.value")), "T:a T:x"},
    {"params.a = 'x' tags.b = 'y'", 1, PARAM("c.value = ?") " AND " TAG("c.value = ?"), "T:a T:x T:b T:y"},
    {"params.a = 'x' AND", 1, PARAM("c.value = ?"), "T:a T:x"},
    {"metrics.a > 1 OR metrics.b > 2", 0, "Invalid clause(s) in filter string: 'OR'", 0},
    {"metrics.a > 1 or metrics.b > 2", 0, "Invalid clause(s) in filter string: 'or'", 0},
    {"metrics.a > 1; metrics.b > 2", 0, "Search filter contained multiple expression 'metrics.a > 1; metrics.b > 2'. Provide AND-ed expression list.", 0},
    {"metrics.a > 1;", 0, "Invalid clause(s) in filter string: ';'", 0},
    {"(metrics.a > 1)", 0, "Invalid clause(s) in filter string: '(metrics.a > 1)'", 0},
    {"NOT metrics.a > 1", 0, "Invalid clause(s) in filter string: 'NOT'", 0},
    /* malformed */
    {"params.a = 'x", 0, "Invalid clause(s) in filter string: 'params.a', '=', ''', 'x'", 0},
    {"params.a = \"x", 0, "Invalid clause(s) in filter string", 0},
    {"params.a =", 0, "Invalid clause(s) in filter string: 'params.a', '='", 0},
    {"params.a", 0, "Invalid clause(s) in filter string: 'params.a'", 0},
    {"metrics.a > 1 garbage", 0, "Invalid clause(s) in filter string: 'garbage'", 0},
    {"metrics.a > 1 -- comment", 0, "Invalid clause(s) in filter string: '-- comment'", 0},
    {"params.learning-rate = 'x'", 0, "Invalid clause(s) in filter string", 0},
    {"", 1, "1=1", ""},
    {"   ", 1, "1=1", ""},
    /* request text is bound, never spliced */
    {"params.a = ' OR 1=1 --'", 1, PARAM("c.value = ?"), "T:a T: OR 1=1 --"},
    {"params.a = 'x''; DROP TABLE runs; --'", 1, PARAM("c.value = ?"), "T:a T:x''; DROP TABLE runs; --"},
    {"tags.\"k'); DELETE FROM runs; --\" = \"v\"", 1, TAG("c.value = ?"), "T:k'); DELETE FROM runs; -- T:v"},
};

static const filter_case exp_cases[] = {
    {"name = 'x'", 1, "(experiments.name = ?)", "T:x"},
    {"attribute.name != 'x'", 1, "(experiments.name != ?)", "T:x"},
    {"name like 'x%'", 1, "(experiments.name LIKE ?)", "T:x%"},
    {"name ILIKE 'X%'", 1, "(" ILIKE("experiments.name") ")", "T:X%"},
    {"creation_time > 5", 1, "(experiments.creation_time > ?)", "I:5"},
    {"last_update_time <= 5.5", 1, "(experiments.last_update_time <= ?)", "D:5.5"},
    {"tags.k = 'v' AND tag.j LIKE 'w'", 1, ETAG("c.value = ?") " AND " ETAG("c.value LIKE ?"), "T:k T:v T:j T:w"},
    {"tags.k ILIKE 'v'", 1, ETAG(ILIKE("c.value")), "T:k T:v"},
    {"name = 'x' OR name = 'y'", 0, "Invalid clause(s) in filter string: OR", 0},
    {"attr.name = 'x'", 0, "Invalid entity type 'attr'. Valid entity types are ('attribute', 'tag', 'tags')", 0},
    {"metrics.a > 1", 0, "Invalid entity type 'metrics'", 0},
    {"experiment_id = '1'", 0, "Invalid attribute key 'experiment_id' specified. Valid keys are '{'creation_time', 'last_update_time', 'name'}'", 0},
    {"name IN ('a')", 0, "Only the 'run_id' attribute supports comparison", 0},
    {"name > 'x'", 0, "Invalid comparator '>' not one of", 0},
    {"creation_time LIKE 5", 0, "Invalid comparator 'LIKE' not one of", 0},
    {"creation_time = 'x'", 0, "Expected numeric value type for numeric attribute: creation_time. Found 'x'", 0},
    {"tags.k > 'v'", 0, "Invalid comparator for tag: >", 0},
    {"", 1, "1=1", ""},
};

typedef struct {
    const char *order[3];
    int ok;
    const char *expect; /* ok: the ORDER BY text; else a substring of the error */
    const char *binds;
} order_case;

static const order_case runs_order_cases[] = {
    {{0}, 1, TIE, ""},
    {{"metrics.acc DESC"}, 1, ORD_MET("DESC") ", " TIE, "T:acc T:acc"},
    {{"metric.acc"}, 1, ORD_MET("ASC") ", " TIE, "T:acc T:acc"},
    {{"params.lr asc", "tags.t Desc"}, 1, ORD_KV("params", "ASC") ", " ORD_KV("tags", "DESC") ", " TIE, "T:lr T:lr T:t T:t"},
    {{"metrics.`my metric` DESC"}, 1, ORD_MET("DESC") ", " TIE, "T:my metric T:my metric"},
    {{"metrics.\"a b\""}, 1, ORD_MET("ASC") ", " TIE, "T:a b T:a b"},
    {{"start_time"}, 1, ORD_ATTR("start_time", "ASC") ", runs.run_uuid ASC", ""},
    {{"created DESC"}, 1, ORD_ATTR("start_time", "DESC") ", runs.run_uuid ASC", ""},
    {{"attributes.end_time DESC"}, 1, ORD_ATTR("end_time", "DESC") ", " TIE, ""},
    {{"run_id"}, 1, ORD_ATTR("run_uuid", "ASC") ", " TIE, ""},
    {{"attr.run_name"}, 1, ORD_ATTR("name", "ASC") ", " TIE, ""},
    {{"  status  "}, 1, ORD_ATTR("status", "ASC") ", " TIE, ""},
    {{"created", "start_time"}, 0, "`order_by` contains duplicate fields: ['created', 'start_time']", 0},
    {{"datasets.name"}, 0, "Invalid identifier type 'dataset'", 0},
    {{"foo"}, 0, "Invalid attribute key 'foo' specified. Valid keys are '{'Created', 'artifact_uri', 'created', 'end_time', 'run_id', 'run_name', 'start_time', 'status', 'user_id'}'", 0},
    {{"\"run name\""}, 0, "Invalid attribute key 'run name'", 0},
    {{"metrics.a DESCENDING"}, 0, "Invalid ordering key in order_by clause 'metrics.a DESCENDING'.", 0},
    {{"metrics.a DESC x"}, 0, "Invalid order_by clause 'metrics.a DESC x'. Could not be parsed.", 0},
    {{""}, 0, "Invalid order_by clause ''. Could not be parsed.", 0},
    {{"DESC"}, 0, "Could not be parsed.", 0},
    {{"metrics.a, metrics.b"}, 0, "Could not be parsed.", 0},
    {{"foo.a"}, 0, "Invalid entity type 'foo'", 0},
};

static const order_case exp_order_cases[] = {
    {{0}, 1, "experiments.creation_time DESC, experiments.experiment_id ASC", ""},
    {{"name"}, 1, "experiments.name ASC, experiments.experiment_id DESC", ""},
    {{"last_update_time desc", "name"}, 1, "experiments.last_update_time DESC, experiments.name ASC, experiments.experiment_id DESC", ""},
    {{"experiment_id"}, 1, "experiments.experiment_id ASC", ""},
    {{"tags.x"}, 0, "Invalid order_by entity: tag", 0},
    {{"foo"}, 0, "Invalid attribute key 'foo' specified. Valid keys are '{'creation_time', 'experiment_id', 'last_update_time', 'name'}'", 0},
    {{"name sideways"}, 0, "Invalid ordering key in order_by clause 'name sideways'.", 0},
};

static void render_binds(const search_sql *s, sbuf *b)
{
    for (size_t i = 0; i < s->nbinds; i++) {
        const search_bind *x = &s->binds[i];
        if (i)
            sbuf_putc(b, ' ');
        if (x->type == SEARCH_BIND_TEXT)
            sbuf_printf(b, "T:%s", x->text);
        else if (x->type == SEARCH_BIND_INT)
            sbuf_printf(b, "I:%lld", (long long)x->i);
        else
            sbuf_printf(b, "D:%g", x->d);
    }
}

typedef int (*compile_fn)(const char *, const char **, size_t, search_dialect, int,
                          search_sql *, cerr *);

static size_t count_orders(const char *const *o)
{
    size_t n = 0;
    while (n < 3 && o[n])
        n++;
    return n;
}

/* Compile one case and compare; print the case on a mismatch. */
static void check(compile_fn fn, const char *filter, const char *const *order, int ok,
                  const char *expect, const char *binds, int check_order)
{
    search_sql s;
    cerr e = {0};
    int rv = fn(filter, (const char **)order, count_orders(order), SEARCH_SQLITE, 1, &s, &e);
    const char *label = filter ? filter : order[0];
    if ((rv == 0) != ok) {
        print_error("case [%s]: rv %d, error [%s]\n", label, rv, e.msg);
        fail();
    }
    if (!ok) {
        if (strstr(e.msg, expect) == NULL || e.code != CERR_INVALID_PARAMETER_VALUE) {
            print_error("case [%s]:\n got  [%s]\n want [%s]\n", label, e.msg, expect);
            fail();
        }
        return;
    }
    size_t marks = 0; /* every '?' is a bind and every bind a '?' */
    for (const char *p = sbuf_str(&s.where); *p; p++)
        marks += *p == '?';
    for (const char *p = sbuf_str(&s.order); *p; p++)
        marks += *p == '?';
    assert_int_equal(marks, s.nbinds);
    sbuf b = SBUF_INIT;
    render_binds(&s, &b);
    const char *got = sbuf_str(check_order ? &s.order : &s.where);
    if (strcmp(got, expect) != 0 || strcmp(sbuf_str(&b), binds) != 0) {
        print_error("case [%s]:\n got  [%s] {%s}\n want [%s] {%s}\n", label, got, sbuf_str(&b),
                    expect, binds);
        fail();
    }
    sbuf_free(&b);
    search_sql_free(&s);
}

static void test_runs_filters(void **state)
{
    (void)state;
    const char *none[1] = {0};
    for (size_t i = 0; i < sizeof runs_cases / sizeof runs_cases[0]; i++) {
        const filter_case *c = &runs_cases[i];
        check(search_runs_compile, c->in, none, c->ok, c->expect, c->binds, 0);
    }
}

static void test_experiments_filters(void **state)
{
    (void)state;
    const char *none[1] = {0};
    for (size_t i = 0; i < sizeof exp_cases / sizeof exp_cases[0]; i++) {
        const filter_case *c = &exp_cases[i];
        check(search_experiments_compile, c->in, none, c->ok, c->expect, c->binds, 0);
    }
}

static void test_order_by(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof runs_order_cases / sizeof runs_order_cases[0]; i++) {
        const order_case *c = &runs_order_cases[i];
        check(search_runs_compile, NULL, c->order, c->ok, c->expect, c->binds, 1);
    }
    for (size_t i = 0; i < sizeof exp_order_cases / sizeof exp_order_cases[0]; i++) {
        const order_case *c = &exp_order_cases[i];
        check(search_experiments_compile, NULL, c->order, c->ok, c->expect, c->binds, 1);
    }
}


/* ---- which error comes first: MLflow's order of checks ---- */

static void expect_error(compile_fn fn, const char *filter, const char *order, const char *want)
{
    const char *ob[1] = {order};
    search_sql s;
    cerr e = {0};
    assert_int_equal(fn(filter, ob, order ? 1 : 0, SEARCH_SQLITE, 1, &s, &e), -1);
    if (strstr(e.msg, want) == NULL) {
        print_error("got [%s], want [%s]\n", e.msg, want);
        fail();
    }
    assert_int_equal(e.code, CERR_INVALID_PARAMETER_VALUE);
    assert_null(s.binds); /* nothing left to free after an error */
    assert_null(s.where.data);
}

static void test_error_order(void **state)
{
    (void)state;
    /* runs: filter syntax and values, then order_by, then comparators */
    expect_error(search_runs_compile, "metrics.a > 'x'", "foo", "Expected numeric value");
    expect_error(search_runs_compile, "metrics.a LIKE 1", "foo", "Invalid attribute key 'foo'");
    expect_error(search_runs_compile, "metrics.a LIKE 1 AND foo = 'x'", NULL, "Invalid attribute key 'foo'");
    expect_error(search_runs_compile, "metrics.a LIKE 1 AND params.b > 'x'", NULL, "'LIKE'");
    /* experiments: comparators before order_by */
    expect_error(search_experiments_compile, "name > 'x'", "foo", "Invalid comparator '>'");
    expect_error(search_experiments_compile, "name = 'x'", "foo", "Invalid attribute key 'foo'");
}

/* ---- PostgreSQL: numbered placeholders, casts for numbers, ILIKE ---- */

static void test_postgres(void **state)
{
    (void)state;
    const char *ob[1] = {"metrics.z DESC"};
    search_sql s;
    cerr e = {0};
    assert_int_equal(search_runs_compile("metrics.a > 1 AND params.b ILIKE 'x' AND start_time > 5 "
                                         "AND run_id IN ('ab','cd')",
                                         ob, 1, SEARCH_POSTGRES, 3, &s, &e),
                     0);
    assert_int_equal(s.driven, 0); /* the filter does not require metrics.z */
    assert_string_equal(
        sbuf_str(&s.where),
        "(runs.run_uuid IN (SELECT c.run_uuid FROM latest_metrics c WHERE c.\"key\" = $3 "
        "AND NOT c.is_nan AND c.value > CAST($4 AS DOUBLE PRECISION))) AND (runs.run_uuid IN "
        "(SELECT c.run_uuid FROM params c WHERE c.\"key\" = $5 AND c.value ILIKE $6)) AND "
        "(runs.start_time > CAST($7 AS BIGINT)) AND (runs.run_uuid IN ($8, $9))");
    assert_string_equal(
        sbuf_str(&s.order),
        "COALESCE((SELECT CASE WHEN c.is_nan THEN 1 ELSE 0 END FROM latest_metrics c WHERE "
        "c.run_uuid = runs.run_uuid AND c.\"key\" = $10), 2), (SELECT c.value FROM latest_metrics c "
        "WHERE c.run_uuid = runs.run_uuid AND c.\"key\" = $11) DESC, " TIE);
    assert_int_equal(s.nbinds, 9);
    search_sql_free(&s);
    assert_int_equal(search_experiments_compile("name ILIKE 'x' AND creation_time < 2.5", NULL, 0,
                                                SEARCH_POSTGRES, 1, &s, &e),
                     0);
    assert_string_equal(sbuf_str(&s.where), "(experiments.name ILIKE $1) AND "
                                             "(experiments.creation_time < CAST($2 AS DOUBLE PRECISION))");
    search_sql_free(&s);
    /* first_param 0: '?' for a driver that numbers placeholders itself. */
    assert_int_equal(search_experiments_compile("name ILIKE 'x' AND creation_time < 2.5", NULL, 0,
                                                SEARCH_POSTGRES, 0, &s, &e),
                     0);
    assert_string_equal(sbuf_str(&s.where), "(experiments.name ILIKE ?) AND "
                                             "(experiments.creation_time < CAST(? AS DOUBLE PRECISION))");
    search_sql_free(&s);
}

/* ---- the driven plan: ordered by a metric the filter requires ---- */

static void test_driven(void **state)
{
    (void)state;
    search_sql s;
    cerr e = {0};
    const char *desc[1] = {"metrics.m DESC"}, *asc[2] = {"metrics.m", "params.p"};
    assert_int_equal(search_runs_compile("metrics.m > 0.5 and params.p = 'x'", desc, 1,
                                         SEARCH_SQLITE, 0, &s, &e),
                     0);
    assert_int_equal(s.driven, 1);
    assert_string_equal(sbuf_str(&s.where),
                        "o.\"key\" = ? AND NOT o.is_nan AND (EXISTS (SELECT 1 FROM latest_metrics c "
                        "WHERE c.run_uuid = runs.run_uuid AND c.\"key\" = ? AND NOT c.is_nan AND "
                        "c.value > ?)) AND (EXISTS (SELECT 1 FROM params c WHERE c.run_uuid = "
                        "runs.run_uuid AND c.\"key\" = ? AND c.value = ?))");
    assert_string_equal(sbuf_str(&s.order), "o.value DESC, " TIE);
    assert_string_equal(s.binds[0].text, "m");
    search_sql_free(&s);
    /* ascending, with more keys after it */
    assert_int_equal(search_runs_compile("metrics.m <= 3", asc, 2, SEARCH_SQLITE, 0, &s, &e), 0);
    assert_int_equal(s.driven, 1);
    assert_non_null(strstr(sbuf_str(&s.order), "o.value ASC, CASE WHEN (SELECT c.value FROM params"));
    search_sql_free(&s);
    /* NaN satisfies !=, and a missing metric passes no filter on another
     * key: neither may drive. Nor may an order by anything but a metric. */
    static const char *const not_driven[][2] = {
        {"metrics.m != 1", "metrics.m DESC"},
        {"metrics.n > 1", "metrics.m DESC"},
        {"params.m = '1'", "metrics.m DESC"},
        {"metrics.m > 1", "params.m DESC"},
        {"metrics.m > 1", "start_time DESC"},
        {"", "metrics.m DESC"},
    };
    for (size_t i = 0; i < sizeof not_driven / sizeof not_driven[0]; i++) {
        const char *ob[1] = {not_driven[i][1]};
        assert_int_equal(search_runs_compile(not_driven[i][0], ob, 1, SEARCH_SQLITE, 0, &s, &e), 0);
        assert_int_equal(s.driven, 0);
        assert_null(strstr(sbuf_str(&s.where), "o."));
        search_sql_free(&s);
    }
}

/* ---- limits ---- */

static char *repeat(const char *head, const char *item, const char *sep, size_t n, const char *tail)
{
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, head);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_puts(&b, sep);
        sbuf_puts(&b, item);
    }
    sbuf_puts(&b, tail);
    return sbuf_detach(&b);
}

static int compiles(const char *filter, const char **ob, size_t nob, cerr *e)
{
    search_sql s;
    int rv = search_runs_compile(filter, ob, nob, SEARCH_SQLITE, 1, &s, e);
    if (rv == 0)
        search_sql_free(&s);
    return rv;
}

static void test_limits(void **state)
{
    (void)state;
    cerr e = {0};
    char *f = repeat("params.a = '", "x", "", SEARCH_MAX_FILTER_LEN, "'");
    assert_int_equal(compiles(f, NULL, 0, &e), -1);
    assert_non_null(strstr(e.msg, "characters long"));
    free(f);
    f = repeat("", "params.a = 'x'", " AND ", SEARCH_MAX_CLAUSES, "");
    assert_int_equal(compiles(f, NULL, 0, &e), 0);
    free(f);
    f = repeat("", "params.a = 'x'", " AND ", SEARCH_MAX_CLAUSES + 1, "");
    assert_int_equal(compiles(f, NULL, 0, &e), -1);
    assert_non_null(strstr(e.msg, "comparisons"));
    free(f);
    f = repeat("run_id IN (", "'abcdef'", ",", SEARCH_MAX_VALUES, ")");
    assert_int_equal(compiles(f, NULL, 0, &e), 0);
    free(f);
    f = repeat("run_id IN (", "'abcdef'", ",", SEARCH_MAX_VALUES + 1, ")");
    assert_int_equal(compiles(f, NULL, 0, &e), -1);
    assert_non_null(strstr(e.msg, "values in lists"));
    free(f);
    const char *many[SEARCH_MAX_ORDER_BY + 1];
    for (size_t i = 0; i <= SEARCH_MAX_ORDER_BY; i++)
        many[i] = "start_time";
    assert_int_equal(compiles(NULL, many, SEARCH_MAX_ORDER_BY + 1, &e), -1);
    assert_non_null(strstr(e.msg, "clauses"));
    f = repeat("metrics.", "a", "", SEARCH_MAX_ORDER_BY_LEN, "");
    const char *one[1] = {f};
    assert_int_equal(compiles(NULL, one, 1, &e), -1);
    assert_non_null(strstr(e.msg, "characters long"));
    free(f);
}

/* ---- request text reaches SQL only as binds ---- */

static void assert_not_in_sql(const search_sql *s, const char *marker)
{
    if (strcasestr(sbuf_str(&s->where), marker) || strcasestr(sbuf_str(&s->order), marker)) {
        print_error("marker in SQL: %s | %s\n", sbuf_str(&s->where), sbuf_str(&s->order));
        fail();
    }
    int bound = 0;
    for (size_t i = 0; i < s->nbinds; i++)
        bound |= s->binds[i].text && strcasestr(s->binds[i].text, marker) != NULL;
    assert_true(bound);
}

static void test_never_spliced(void **state)
{
    (void)state;
    static const char *const runs[] = {
        "params.xqz1 = 'xqz2'",
        "tags.`xqz;--` = \"xqz' OR 1=1 --\"",
        "tags.'xqz\"); DROP TABLE runs; --' != 'v'",
        "run_id IN ('xqzabc', 'xqz''); drop')",
        "dataset.name = 'xqz'",
        "dataset.context LIKE 'xqz'",
        "run_name ILIKE 'xqz'",
        "metrics.\"xqz) OR (1=1\" > 1",
    };
    static const char *const orders[] = {"metrics.xqz DESC", "params.`xqz x`", "tags.\"xqz'\""};
    search_sql s;
    cerr e = {0};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        assert_int_equal(search_runs_compile(runs[i], NULL, 0, SEARCH_SQLITE, 1, &s, &e), 0);
        assert_not_in_sql(&s, "xqz");
        search_sql_free(&s);
    }
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
        assert_int_equal(search_runs_compile(NULL, (const char **)&orders[i], 1, SEARCH_POSTGRES, 1, &s, &e), 0);
        assert_not_in_sql(&s, "xqz");
        search_sql_free(&s);
    }
    assert_int_equal(search_experiments_compile("name = 'xqz' AND tags.`xqz` LIKE 'a'", NULL, 0,
                                                SEARCH_SQLITE, 1, &s, &e),
                     0);
    assert_not_in_sql(&s, "xqz");
    search_sql_free(&s);
}

/* ---- end to end: the compiled SQL on MLflow's SQLite schema ---- */

static const char fixtures[] =
    "PRAGMA case_sensitive_like = ON;"
    "INSERT INTO experiments VALUES (0, 'Default', 'a/0', 'active', 10, 15),"
    " (1, 'exp', 'a/1', 'active', 20, 40), (2, 'Exp Two', 'a/2', 'active', 30, 30),"
    " (3, 'other', 'a/3', 'active', 30, 35);"
    "INSERT INTO experiment_tags VALUES ('team', 'ml', 1), ('team', 'ML', 2), ('team', 'ops', 3);"
    "INSERT INTO runs (run_uuid, name, user_id, status, start_time, end_time, lifecycle_stage,"
    " artifact_uri, experiment_id) VALUES"
    " ('aaa1', 'alpha', 'alice', 'FINISHED', 100, 200, 'active', 's3://b/aaa1', 1),"
    " ('bbb2', 'beta', 'bob', 'FAILED', 300, NULL, 'active', 's3://b/bbb2', 1),"
    " ('ccc3', 'gamma', 'alice', 'RUNNING', 200, NULL, 'active', 'file:/x', 1),"
    " ('ddd4', 'delta', 'carol', 'FINISHED', 200, 250, 'active', 'file:/y', 1),"
    " ('eee5', '', 'bob', 'FINISHED', 50, 60, 'active', 'file:/z', 1);"
    "INSERT INTO tags VALUES ('mlflow.runName', 'alpha', 'aaa1'), ('mlflow.runName', 'beta', 'bbb2'),"
    " ('mlflow.runName', 'gamma', 'ccc3'), ('mlflow.runName', 'delta', 'ddd4'),"
    " ('mlflow.runName', 'Epsilon', 'eee5'), ('team', 'ml', 'aaa1'), ('team', 'ML', 'bbb2'),"
    " ('team', 'ops', 'ccc3');"
    "INSERT INTO params VALUES ('lr', '0.1', 'aaa1'), ('lr', '0.01', 'bbb2'), ('lr', '0.1', 'ccc3'),"
    " ('lr', '1', 'ddd4');"
    "INSERT INTO latest_metrics VALUES ('acc', 0.9, 1, 0, 0, 'aaa1'), ('acc', 0.5, 1, 0, 0, 'bbb2'),"
    " ('acc', 0, 1, 0, 1, 'ccc3'), ('acc', 0.7, 1, 0, 0, 'ddd4');"
    "INSERT INTO datasets VALUES ('ds1', 1, 'mnist', 'abc', 'local', '{}', NULL, NULL),"
    " ('ds2', 1, 'MNIST-big', 'def', 'local', '{}', NULL, NULL);"
    "INSERT INTO inputs VALUES ('in1', 'DATASET', 'ds1', 'RUN', 'aaa1'),"
    " ('in2', 'DATASET', 'ds2', 'RUN', 'bbb2'), ('in4', 'DATASET', 'ds1', 'RUN', 'ddd4');"
    "INSERT INTO input_tags VALUES ('in1', 'mlflow.data.context', 'train'),"
    " ('in2', 'mlflow.data.context', 'eval'), ('in4', 'mlflow.data.context', 'eval');";

static sqlite3 *open_db(void)
{
    char *schema = reference_schema_sql();
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, schema, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(db, fixtures, NULL, NULL, &err) != SQLITE_OK) {
        print_error("fixture SQL: %s\n", err);
        fail();
    }
    free(schema);
    return db;
}

/* Run the compiled SQL and return the ids it selects, comma-separated. */
static char *query_ids(sqlite3 *db, const char *select, const search_sql *s)
{
    sbuf q = SBUF_INIT, out = SBUF_INIT;
    sbuf_printf(&q, select, sbuf_str(&s->where), sbuf_str(&s->order));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sbuf_str(&q), -1, &st, NULL) != SQLITE_OK) {
        print_error("prepare: %s\n%s\n", sqlite3_errmsg(db), sbuf_str(&q));
        fail();
    }
    for (size_t i = 0; i < s->nbinds; i++) {
        const search_bind *b = &s->binds[i];
        int idx = (int)i + 1;
        if (b->type == SEARCH_BIND_TEXT)
            sqlite3_bind_text(st, idx, b->text, -1, SQLITE_STATIC);
        else if (b->type == SEARCH_BIND_INT)
            sqlite3_bind_int64(st, idx, b->i);
        else
            sqlite3_bind_double(st, idx, b->d);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (out.len)
            sbuf_putc(&out, ',');
        sbuf_puts(&out, (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sbuf_free(&q);
    return sbuf_detach(&out);
}

typedef struct {
    const char *filter;
    const char *order[2];
    const char *ids;
} e2e_case;

static const e2e_case e2e_runs[] = {
    {"", {0}, "bbb2,ccc3,ddd4,aaa1,eee5"},
    {"metrics.acc > 0.6", {0}, "ddd4,aaa1"},
    {"metrics.acc < 1", {0}, "bbb2,ddd4,aaa1"},       /* the NaN run (stored 0) stays out */
    {"metrics.acc = 0", {0}, ""},
    {"metrics.acc != 0.5", {0}, "ccc3,ddd4,aaa1"},    /* NaN != 0.5 */
    {"params.lr = '0.1'", {0}, "ccc3,aaa1"},
    {"params.lr LIKE '0.%'", {0}, "bbb2,ccc3,aaa1"},
    {"tags.team LIKE 'm%'", {0}, "aaa1"},             /* LIKE is case-sensitive */
    {"tags.team ILIKE 'm%'", {0}, "bbb2,aaa1"},
    {"tags.team != 'ml'", {0}, "bbb2,ccc3"},          /* runs without the tag never match */
    {"run_name = 'Epsilon'", {0}, "eee5"},            /* read from the mlflow.runName tag */
    {"attributes.run_name LIKE '%a'", {0}, "bbb2,ccc3,ddd4,aaa1"},
    {"run_id IN ('aaa1', 'ddd4')", {0}, "ddd4,aaa1"},
    {"run_id NOT IN ('aaa1', 'ddd4')", {0}, "bbb2,ccc3,eee5"},
    {"status != 'FINISHED' and user_id = 'bob'", {0}, "bbb2"},
    {"artifact_uri LIKE 's3://%'", {0}, "bbb2,aaa1"},
    {"start_time >= 200", {0}, "bbb2,ccc3,ddd4"},
    {"created < 100", {0}, "eee5"},
    {"end_time > 100", {0}, "ddd4,aaa1"},
    {"datasets.name = 'mnist'", {0}, "ddd4,aaa1"},
    {"dataset.name ILIKE 'mnist%'", {0}, "bbb2,ddd4,aaa1"},
    {"dataset.context = 'eval'", {0}, "bbb2,ddd4"},
    {"dataset.digest IN ('def')", {0}, "bbb2"},
    {"params.lr = 'x'' OR ''1''=''1'", {0}, ""},
    {"params.lr = ' OR 1=1 --'", {0}, ""},
    {"tags.\"x') OR 1=1 --\" = 'ml'", {0}, ""},
    {"", {"metrics.acc DESC"}, "aaa1,ddd4,bbb2,ccc3,eee5"}, /* values, NaN, missing */
    {"", {"metrics.acc"}, "bbb2,ddd4,aaa1,ccc3,eee5"},
    {"", {"params.lr DESC"}, "ddd4,ccc3,aaa1,bbb2,eee5"},
    {"", {"end_time"}, "eee5,aaa1,ddd4,bbb2,ccc3"},    /* NULLs last, then start_time DESC */
    {"", {"end_time DESC"}, "ddd4,aaa1,eee5,bbb2,ccc3"},
    {"", {"start_time"}, "eee5,aaa1,ccc3,ddd4,bbb2"},
    {"", {"tags.team", "start_time DESC"}, "bbb2,aaa1,ccc3,ddd4,eee5"},
    {"params.lr LIKE '0%'", {"metrics.acc DESC"}, "aaa1,bbb2,ccc3"},
};

static const e2e_case e2e_exps[] = {
    {"", {0}, "2,3,1,0"},
    {"name LIKE 'exp%'", {0}, "1"},
    {"name ILIKE 'exp%'", {0}, "2,1"},
    {"tags.team = 'ml'", {0}, "1"},
    {"tags.team ILIKE 'ML'", {0}, "2,1"},
    {"creation_time >= 20", {0}, "2,3,1"},
    {"last_update_time != 30", {"name"}, "0,1,3"},
    {"", {"name"}, "0,2,1,3"},
    {"", {"creation_time"}, "0,1,3,2"},
    {"name = 'x'' OR 1=1 --'", {0}, ""},
};

static void run_e2e(compile_fn fn, const char *select, const e2e_case *cases, size_t n)
{
    sqlite3 *db = open_db();
    for (size_t i = 0; i < n; i++) {
        search_sql s;
        cerr e = {0};
        const e2e_case *c = &cases[i];
        if (fn(c->filter, (const char **)c->order, c->order[0] ? (c->order[1] ? 2 : 1) : 0,
               SEARCH_SQLITE, 1, &s, &e) != 0) {
            print_error("case [%s]: %s\n", c->filter, e.msg);
            fail();
        }
        char *got = query_ids(db, select, &s);
        if (strcmp(got, c->ids) != 0) {
            print_error("case [%s | %s]: got [%s], want [%s]\n", c->filter,
                        c->order[0] ? c->order[0] : "", got, c->ids);
            fail();
        }
        free(got);
        search_sql_free(&s);
    }
    /* the hostile values above were data, not SQL: the tables are intact */
    search_sql none = {0};
    char *all = query_ids(db, "SELECT count(*) FROM runs WHERE 1=1 %s%s", &none);
    assert_string_equal(all, "5");
    free(all);
    sqlite3_close(db);
}

static void test_e2e_runs(void **state)
{
    (void)state;
    run_e2e(search_runs_compile, "SELECT run_uuid FROM runs WHERE experiment_id = 1 AND (%s) ORDER BY %s",
            e2e_runs, sizeof e2e_runs / sizeof e2e_runs[0]);
}

static void test_e2e_experiments(void **state)
{
    (void)state;
    run_e2e(search_experiments_compile, "SELECT experiment_id FROM experiments WHERE (%s) ORDER BY %s",
            e2e_exps, sizeof e2e_exps / sizeof e2e_exps[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_filters),
        cmocka_unit_test(test_experiments_filters),
        cmocka_unit_test(test_order_by),
        cmocka_unit_test(test_error_order),
        cmocka_unit_test(test_postgres),
        cmocka_unit_test(test_driven),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_never_spliced),
        cmocka_unit_test(test_e2e_runs),
        cmocka_unit_test(test_e2e_experiments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
