/* search_compile.c - search AST -> parameterised SQL (WHERE and ORDER BY).
 *
 * Follows MLflow's SqlAlchemyStore: _get_sqlalchemy_filter_clauses and
 * _get_orderby_clauses for runs, _get_search_experiments_filter_clauses and
 * _get_search_experiments_order_by_clauses for experiments, including where
 * they check comparators and what they say when one is wrong. Where MLflow
 * joins a filtered subquery, we write `runs.run_uuid IN (SELECT run_uuid
 * FROM child WHERE key = ? AND test)`, which selects the same runs, returns
 * each once without DISTINCT, and is computed once per query from Cairn's
 * (key, value, run_uuid) indexes instead of probed once per run.
 *
 * Every string and number in the SQL is a bind; the text only ever holds
 * the fixed table and column names below. */
#include "search_ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MLflow's comparator sets, printed as MLflow prints them (its messages
 * show Python sets; we use the order the source code lists them in). */
#define SET_METRIC "{'>', '>=', '!=', '=', '<', '<='}"
#define SET_PARAM "{'!=', '=', 'LIKE', 'ILIKE'}"
#define SET_STRING "{'!=', '=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'}"

static const char *const ops_metric[] = {">", ">=", "!=", "=", "<", "<=", NULL};
static const char *const ops_param[] = {"!=", "=", "LIKE", "ILIKE", NULL};
static const char *const ops_string[] = {"!=", "=", "LIKE", "ILIKE", "IN", "NOT IN", NULL};

/* ---- binds and placeholders ---- */

void search_emit_init(search_emit *em, search_sql *out, search_dialect dialect, int first_param)
{
    em->out = out;
    em->dialect = dialect;
    em->next_param = first_param > 0 ? first_param : 0; /* 0: '?' placeholders */
    em->cap = 0;
}

static search_bind *new_bind(search_emit *em, search_bind_type type)
{
    search_sql *o = em->out;
    if (o->nbinds == em->cap) {
        em->cap = em->cap ? em->cap * 2 : 8;
        search_bind *b = realloc(o->binds, em->cap * sizeof *b);
        if (b == NULL)
            abort();
        o->binds = b;
    }
    search_bind *b = &o->binds[o->nbinds++];
    memset(b, 0, sizeof *b);
    b->type = type;
    return b;
}

/* PostgreSQL gets explicit casts for numbers so that a text-typed
 * parameter (libpq's default) compares as a number: an integer column
 * compared with 1.5 must not make the server parse "1.5" as an integer. */
static void placeholder(search_emit *em, sbuf *sql, search_bind_type type)
{
    if (em->dialect == SEARCH_SQLITE) {
        sbuf_putc(sql, '?');
        return;
    }
    char mark[16] = "?";
    if (em->next_param > 0)
        snprintf(mark, sizeof mark, "$%d", em->next_param++);
    if (type == SEARCH_BIND_INT)
        sbuf_printf(sql, "CAST(%s AS BIGINT)", mark);
    else if (type == SEARCH_BIND_DOUBLE)
        sbuf_printf(sql, "CAST(%s AS DOUBLE PRECISION)", mark);
    else
        sbuf_puts(sql, mark);
}

static void bind_text(search_emit *em, sbuf *sql, const char *s)
{
    new_bind(em, SEARCH_BIND_TEXT)->text = search_strndup(s, strlen(s));
    placeholder(em, sql, SEARCH_BIND_TEXT);
}

static void bind_number(search_emit *em, sbuf *sql, const search_cmp *c, int as_double)
{
    if (c->is_int && !as_double) {
        new_bind(em, SEARCH_BIND_INT)->i = c->i;
        placeholder(em, sql, SEARCH_BIND_INT);
    } else {
        new_bind(em, SEARCH_BIND_DOUBLE)->d = c->d;
        placeholder(em, sql, SEARCH_BIND_DOUBLE);
    }
}

/* ---- comparisons ---- */

static int op_in(const char *op, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(op, *set) == 0)
            return 1;
    return 0;
}

/* The set's own copy of a validated comparator, so SQL text never holds
 * bytes that came from the request. */
static const char *const_op(const char *op)
{
    for (const char *const *p = ops_string; *p; p++)
        if (strcmp(op, *p) == 0)
            return *p;
    for (const char *const *p = ops_metric; *p; p++)
        if (strcmp(op, *p) == 0)
            return *p;
    abort(); /* callers validate first */
}

static int bad_op(cerr *e, const char *op, const char *set, const char *close)
{
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid comparator '%s' not one of '%s%s",
                    op, set, close);
}

/* `col <op> value` for text columns; lists for IN / NOT IN. */
static void text_cmp(search_emit *em, sbuf *w, const char *col, const search_cmp *c)
{
    int not_in = strcmp(c->op, "NOT IN") == 0;
    if (not_in || strcmp(c->op, "IN") == 0) {
        if (c->nlist == 0) { /* SQLAlchemy's empty IN: false; NOT IN: true */
            sbuf_puts(w, not_in ? "1=1" : "1=0");
            return;
        }
        sbuf_printf(w, "%s %s (", col, not_in ? "NOT IN" : "IN");
        for (size_t i = 0; i < c->nlist; i++) {
            if (i)
                sbuf_puts(w, ", ");
            bind_text(em, w, c->list[i]);
        }
        sbuf_putc(w, ')');
    } else if (strcmp(c->op, "ILIKE") == 0 && em->dialect == SEARCH_SQLITE) {
        /* SQLAlchemy's ilike() off PostgreSQL; LIKE itself is made
         * case-sensitive by the store (PRAGMA case_sensitive_like). */
        sbuf_printf(w, "LOWER(%s) LIKE LOWER(", col);
        bind_text(em, w, c->str);
        sbuf_putc(w, ')');
    } else {
        sbuf_printf(w, "%s %s ", col, const_op(c->op));
        bind_text(em, w, c->str);
    }
}

static void num_cmp(search_emit *em, sbuf *w, const char *col, const search_cmp *c)
{
    sbuf_printf(w, "%s %s ", col, const_op(c->op));
    bind_number(em, w, c, 0);
}

/* A list value only makes sense with IN / NOT IN; MLflow would hand it
 * to SQLAlchemy and fail with an internal error. */
static int check_list_op(const search_cmp *c, cerr *e)
{
    int in = strcmp(c->op, "IN") == 0 || strcmp(c->op, "NOT IN") == 0;
    if (in == (c->kind == SEARCH_VAL_LIST))
        return 0;
    if (in)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                        "Comparator '%s' needs a parenthesised list of quoted strings", c->op);
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                    "Comparator '%s' cannot compare with a list of values; use IN or NOT IN",
                    c->op);
}

/* ---- runs ---- */

static const char *translate_key(const char *key)
{
    if (strcmp(key, "created") == 0 || strcmp(key, "Created") == 0)
        return "start_time";
    if (strcmp(key, "run name") == 0 || strcmp(key, "Run name") == 0 ||
        strcmp(key, "Run Name") == 0)
        return "run_name";
    return key;
}

/* SqlRun.get_attribute_name: the runs column behind an attribute. */
static const char *run_column(const char *key)
{
    static const char *const map[][2] = {
        {"run_id", "runs.run_uuid"},       {"run_name", "runs.name"},
        {"user_id", "runs.user_id"},       {"status", "runs.status"},
        {"start_time", "runs.start_time"}, {"end_time", "runs.end_time"},
        {"artifact_uri", "runs.artifact_uri"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], key) == 0)
            return map[i][1];
    abort(); /* the parser admits only these keys */
}

static int is_numeric_run_attr(const char *key)
{
    return strcmp(key, "start_time") == 0 || strcmp(key, "end_time") == 0;
}

/* The runs whose row of a key/value child table (params, tags,
 * latest_metrics) passes the test that follows; the caller closes it. A
 * driven plan (search.h) probes per run, for the few runs it looks at;
 * otherwise the set is computed once. */
static void kv_exists(search_emit *em, sbuf *w, const char *table, const char *key)
{
    if (em->per_run)
        sbuf_printf(w,
                    "EXISTS (SELECT 1 FROM %s c WHERE c.run_uuid = runs.run_uuid AND c.\"key\" = ",
                    table);
    else
        sbuf_printf(w, "runs.run_uuid IN (SELECT c.run_uuid FROM %s c WHERE c.\"key\" = ",
                    table);
    bind_text(em, w, key);
    sbuf_puts(w, " AND ");
}

static int runs_attribute(search_emit *em, sbuf *w, const search_cmp *c, cerr *e)
{
    const char *key = translate_key(c->key);
    if (!is_numeric_run_attr(key)) {
        if (!op_in(c->op, ops_string))
            return bad_op(e, c->op, SET_STRING, "'");
        if (check_list_op(c, e) < 0)
            return -1;
        if (strcmp(key, "run_name") == 0) { /* MLflow reads the mlflow.runName tag */
            kv_exists(em, w, "tags", "mlflow.runName");
            text_cmp(em, w, "c.value", c);
            sbuf_putc(w, ')');
        } else {
            text_cmp(em, w, run_column(key), c);
        }
        return 0;
    }
    if (!op_in(c->op, ops_metric))
        return bad_op(e, c->op, SET_STRING, ""); /* sic: MLflow prints the string set */
    num_cmp(em, w, run_column(key), c);
    return 0;
}

/* latest_metrics stores NaN as value 0 with is_nan set; a NaN must not
 * pass a numeric test, except `!=`, which NaN satisfies (IEEE, and
 * MLflow's own in-memory SearchUtils.filter). */
static int runs_metric(search_emit *em, sbuf *w, const search_cmp *c, cerr *e)
{
    if (!op_in(c->op, ops_metric))
        return bad_op(e, c->op, SET_METRIC, "");
    kv_exists(em, w, "latest_metrics", c->key);
    int ne = strcmp(c->op, "!=") == 0;
    sbuf_printf(w, ne ? "(c.is_nan OR c.value %s " : "NOT c.is_nan AND c.value %s ",
                const_op(c->op));
    bind_number(em, w, c, 1);
    sbuf_puts(w, ne ? "))" : ")");
    return 0;
}

static int runs_param_tag(search_emit *em, sbuf *w, const search_cmp *c, cerr *e)
{
    int param = c->entity == SEARCH_ENT_PARAM;
    if (!op_in(c->op, ops_param))
        return bad_op(e, c->op, SET_PARAM, param ? "'" : "");
    kv_exists(em, w, param ? "params" : "tags", c->key);
    text_cmp(em, w, "c.value", c);
    sbuf_putc(w, ')');
    return 0;
}

/* Datasets reach a run through inputs (source DATASET -> destination RUN);
 * "context" is the mlflow.data.context input tag. */
static int runs_dataset(search_emit *em, sbuf *w, const search_cmp *c, cerr *e)
{
    if (!op_in(c->op, ops_string))
        return bad_op(e, c->op, SET_STRING, "");
    if (check_list_op(c, e) < 0)
        return -1;
    int context = strcmp(c->key, "context") == 0;
    sbuf_puts(w, "EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id");
    if (context)
        sbuf_puts(w, " JOIN input_tags it ON it.input_uuid = i.input_uuid");
    sbuf_puts(w, " WHERE i.destination_type = ");
    bind_text(em, w, "RUN");
    sbuf_puts(w, " AND i.destination_id = runs.run_uuid AND i.source_type = ");
    bind_text(em, w, "DATASET");
    sbuf_puts(w, " AND ");
    if (context) {
        sbuf_puts(w, "it.name = ");
        bind_text(em, w, "mlflow.data.context");
        sbuf_puts(w, " AND ");
        text_cmp(em, w, "it.value", c);
    } else {
        text_cmp(em, w, strcmp(c->key, "name") == 0 ? "d.name" : "d.digest", c);
    }
    sbuf_putc(w, ')');
    return 0;
}

static int runs_one(search_emit *em, sbuf *w, const search_cmp *c, cerr *e)
{
    switch (c->entity) {
    case SEARCH_ENT_ATTRIBUTE: return runs_attribute(em, w, c, e);
    case SEARCH_ENT_METRIC: return runs_metric(em, w, c, e);
    case SEARCH_ENT_PARAM:
    case SEARCH_ENT_TAG: return runs_param_tag(em, w, c, e);
    case SEARCH_ENT_DATASET: return runs_dataset(em, w, c, e);
    }
    return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid search expression type '%s'",
                    search_entity_name(c->entity));
}

typedef int (*cmp_fn)(search_emit *em, sbuf *w, const search_cmp *c, cerr *e);

static int where_all(const search_filter *f, search_emit *em, cmp_fn fn, cerr *e)
{
    sbuf *w = &em->out->where;
    if (f->n == 0) {
        sbuf_puts(w, "1=1");
        return 0;
    }
    for (size_t i = 0; i < f->n; i++) {
        sbuf_puts(w, i ? " AND (" : "(");
        if (fn(em, w, &f->cmps[i], e) < 0)
            return -1;
        sbuf_putc(w, ')');
    }
    return 0;
}

int search_runs_drivable(const search_filter *f, const search_orders *o)
{
    if (o->n == 0 || o->v[0].entity != SEARCH_ENT_METRIC)
        return 0;
    /* MLflow's filter is a conjunction: one comparison that NaN and a
     * missing value both fail is enough. */
    static const char *const requiring[] = {">", ">=", "=", "<", "<=", NULL};
    for (size_t i = 0; i < f->n; i++)
        if (f->cmps[i].entity == SEARCH_ENT_METRIC && strcmp(f->cmps[i].key, o->v[0].key) == 0 &&
            op_in(f->cmps[i].op, requiring))
            return 1;
    return 0;
}

int search_compile_runs_where(const search_filter *f, const search_orders *o, search_emit *em,
                              cerr *e)
{
    if (em->out->driven) {
        sbuf *w = &em->out->where;
        sbuf_puts(w, "o.\"key\" = ");
        bind_text(em, w, o->v[0].key);
        sbuf_puts(w, " AND NOT o.is_nan AND ");
    }
    return where_all(f, em, runs_one, e);
}

/* A run's value of one key in a child table, as a scalar subquery. */
static void child_value(search_emit *em, sbuf *o, const char *col, const char *table,
                        const char *key)
{
    sbuf_printf(o, "(SELECT %s FROM %s c WHERE c.run_uuid = runs.run_uuid AND c.\"key\" = ",
                col, table);
    bind_text(em, o, key);
    sbuf_putc(o, ')');
}

/* Missing values sort last in both directions, and for metrics NaN just
 * before them: MLflow's CASE columns (is_nan -> 1, missing -> 2, else 0). */
static void order_one(search_emit *em, sbuf *o, const search_order *ord)
{
    const char *dir = ord->ascending ? " ASC" : " DESC";
    if (ord->entity == SEARCH_ENT_ATTRIBUTE) {
        const char *col = run_column(ord->key);
        sbuf_printf(o, "CASE WHEN %s IS NULL THEN 1 ELSE 0 END, %s%s", col, col, dir);
        return;
    }
    const char *table = ord->entity == SEARCH_ENT_METRIC  ? "latest_metrics"
                        : ord->entity == SEARCH_ENT_PARAM ? "params"
                                                          : "tags";
    if (ord->entity == SEARCH_ENT_METRIC) {
        sbuf_puts(o, "COALESCE(");
        child_value(em, o, "CASE WHEN c.is_nan THEN 1 ELSE 0 END", table, ord->key);
        sbuf_puts(o, ", 2), ");
    } else {
        sbuf_puts(o, "CASE WHEN ");
        child_value(em, o, "c.value", table, ord->key);
        sbuf_puts(o, " IS NULL THEN 1 ELSE 0 END, ");
    }
    child_value(em, o, "c.value", table, ord->key);
    sbuf_puts(o, dir);
}

void search_compile_runs_order(const search_orders *ord, search_emit *em)
{
    sbuf *o = &em->out->order;
    int has_start = 0;
    for (size_t i = 0; i < ord->n; i++) {
        if (i == 0 && em->out->driven) /* every row has it, and not NaN */
            sbuf_printf(o, "o.value%s", ord->v[0].ascending ? " ASC" : " DESC");
        else
            order_one(em, o, &ord->v[i]);
        sbuf_puts(o, ", ");
        has_start |= ord->v[i].entity == SEARCH_ENT_ATTRIBUTE &&
                     strcmp(ord->v[i].key, "start_time") == 0;
    }
    if (!has_start)
        sbuf_puts(o, "runs.start_time DESC, ");
    sbuf_puts(o, "runs.run_uuid ASC");
}

/* ---- experiments ---- */

static int exp_one(search_emit *em, sbuf *w, const search_cmp *c, cerr *e)
{
    if (c->entity == SEARCH_ENT_TAG) {
        if (!op_in(c->op, ops_param))
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid comparator for tag: %s",
                            c->op);
        sbuf_puts(w, "EXISTS (SELECT 1 FROM experiment_tags c WHERE c.experiment_id = "
                     "experiments.experiment_id AND c.\"key\" = ");
        bind_text(em, w, c->key);
        sbuf_puts(w, " AND ");
        text_cmp(em, w, "c.value", c);
        sbuf_putc(w, ')');
        return 0;
    }
    if (c->entity != SEARCH_ENT_ATTRIBUTE)
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "Invalid token type: %s",
                        search_entity_name(c->entity));
    if (strcmp(c->key, "name") == 0) {
        if (!op_in(c->op, ops_string))
            return bad_op(e, c->op, SET_STRING, "'");
        if (!op_in(c->op, ops_param))
            return cerr_set(e, CERR_INVALID_PARAMETER_VALUE,
                            "Invalid comparator for string attribute: %s", c->op);
        text_cmp(em, w, "experiments.name", c);
        return 0;
    }
    if (!op_in(c->op, ops_metric))
        return bad_op(e, c->op, SET_STRING, ""); /* sic, as in MLflow */
    num_cmp(em, w, strcmp(c->key, "creation_time") == 0 ? "experiments.creation_time"
                                                         : "experiments.last_update_time",
            c);
    return 0;
}

int search_compile_experiments_where(const search_filter *f, search_emit *em, cerr *e)
{
    return where_all(f, em, exp_one, e);
}

static const char *exp_column(const char *key)
{
    static const char *const cols[] = {"experiments.name", "experiments.experiment_id",
                                       "experiments.creation_time",
                                       "experiments.last_update_time", NULL};
    for (size_t i = 0; cols[i]; i++)
        if (strcmp(cols[i] + strlen("experiments."), key) == 0)
            return cols[i];
    abort(); /* the parser admits only these keys */
}

void search_compile_experiments_order(const search_orders *ord, search_emit *em)
{
    sbuf *o = &em->out->order;
    int has_id = 0;
    for (size_t i = 0; i < ord->n; i++) {
        sbuf_printf(o, "%s%s%s", i ? ", " : "", exp_column(ord->v[i].key),
                    ord->v[i].ascending ? " ASC" : " DESC");
        has_id |= strcmp(ord->v[i].key, "experiment_id") == 0;
    }
    /* MLflow's tie-breaker, only when experiment_id is not ordered on. */
    if (!has_id)
        sbuf_printf(o, "%sexperiments.experiment_id DESC", ord->n ? ", " : "");
}
