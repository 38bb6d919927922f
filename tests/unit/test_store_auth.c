/* test_store_auth.c - the auth tables (store_auth.c, store_auth_perm.c):
 * users (create, get by name and id, list, count, update password and
 * admin, delete with everything that refers to them, ids never reused),
 * experiment and registered-model permissions with MLflow's messages for
 * an existing pair, a missing pair, an unknown user and a bad level, and
 * refresh tokens (insert, get, revoke, revoke all, rotate once).
 *
 * On SQLite (a file per test, store_fixture.h); when CAIRN_TEST_PG names a
 * PostgreSQL database (scripts/pg.sh), the same tests run there too, each
 * on emptied auth tables. */
#include "store_fixture.h"

#include "store/db.h"
#include "store/store_auth.h"

static const char *pg_uri;

static int empty_auth_tables(db_conn *c, void *ctx, cerr *e)
{
    (void)ctx;
    return db_exec(c,
                   "DELETE FROM cairn_refresh_tokens; DELETE FROM cairn_experiment_permissions;"
                   "DELETE FROM cairn_registered_model_permissions; DELETE FROM cairn_users;",
                   e);
}

static int pg_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/cairn-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    cerr e;
    if (store_open(pg_uri, "/artifacts/", &f->st, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(db_write(f->st, empty_auth_tables, NULL, &e), 0);
    *state = f;
    return 0;
}

static const char hash_a[] = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
static const char hash_b[] = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdDI$aGFzaDI";

static int64_t new_user(store *st, const char *name, bool admin)
{
    store_user u;
    cerr e;
    assert_int_equal(store_user_create(st, name, hash_a, admin, false, &u, &e), 0);
    int64_t id = u.id;
    store_user_free(&u);
    return id;
}

static void test_user_create_get(void **state)
{
    fixture *f = *state;
    cerr e;
    store_user u;
    int64_t t0 = time_now_ms();
    assert_int_equal(store_user_create(f->st, "alice", hash_a, true, true, &u, &e), 0);
    assert_true(u.id > 0);
    assert_string_equal(u.username, "alice");
    assert_true(u.is_admin && u.must_change_password);
    assert_true(u.created_time >= t0);
    int64_t id = u.id;
    store_user_free(&u);
    assert_null(u.username);

    assert_int_equal(store_user_get(f->st, "alice", &u, &e), 0);
    assert_int_equal(u.id, id);
    assert_string_equal(u.password_hash, hash_a);
    assert_true(u.is_admin);
    assert_true(u.must_change_password);
    store_user_free(&u);
    assert_int_equal(store_user_get_by_id(f->st, id, &u, &e), 0);
    assert_string_equal(u.username, "alice");
    store_user_free(&u);

    expect_err(store_user_create(f->st, "alice", hash_b, false, false, NULL, &e), &e,
               CERR_RESOURCE_ALREADY_EXISTS, "User (username=alice) already exists.");
    expect_err(store_user_create(f->st, "", hash_b, false, false, NULL, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Username cannot be empty.");
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    expect_err(store_user_create(f->st, longname, hash_b, false, false, NULL, &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Username must be at most 255");
    expect_err(store_user_get(f->st, "bob", &u, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "User with username=bob not found");
    assert_null(u.username);
    expect_err(store_user_get_by_id(f->st, id + 100, &u, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "User with id=");
    /* Values are bound: a quote is a name like any other. */
    new_user(f->st, "o'brien\"; DROP TABLE cairn_users; --", false);
    assert_int_equal(store_user_get(f->st, "o'brien\"; DROP TABLE cairn_users; --", &u, &e), 0);
    store_user_free(&u);
}

static void test_user_list_update(void **state)
{
    fixture *f = *state;
    cerr e;
    int64_t a = new_user(f->st, "ann", false);
    int64_t b = new_user(f->st, "bea", false);
    assert_true(b > a);
    store_user *users;
    size_t n;
    assert_int_equal(store_user_list(f->st, &users, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(users[0].username, "ann");
    assert_string_equal(users[1].username, "bea");
    store_users_free(users, n);
    int64_t count;
    assert_int_equal(store_user_count(f->st, &count, &e), 0);
    assert_int_equal(count, 2);

    assert_int_equal(store_user_update_password(f->st, "ann", hash_b, true, &e), 0);
    store_user u;
    assert_int_equal(store_user_get(f->st, "ann", &u, &e), 0);
    assert_string_equal(u.password_hash, hash_b);
    assert_true(u.must_change_password);
    assert_false(u.is_admin);
    store_user_free(&u);
    assert_int_equal(store_user_update_password(f->st, "ann", hash_a, false, &e), 0);
    assert_int_equal(store_user_update_admin(f->st, "ann", true, &e), 0);
    assert_int_equal(store_user_get(f->st, "ann", &u, &e), 0);
    assert_false(u.must_change_password);
    assert_true(u.is_admin);
    store_user_free(&u);
    assert_int_equal(store_user_update_admin(f->st, "ann", false, &e), 0);
    assert_int_equal(store_user_get(f->st, "ann", &u, &e), 0);
    assert_false(u.is_admin);
    store_user_free(&u);

    expect_err(store_user_update_password(f->st, "zed", hash_b, false, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "User with username=zed not found");
    expect_err(store_user_update_admin(f->st, "zed", true, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "User with username=zed not found");
    assert_int_equal(store_user_update_password(f->st, "ann", "", false, &e), -1);
}

static void test_user_delete_cascades(void **state)
{
    fixture *f = *state;
    cerr e;
    int64_t id = new_user(f->st, "carl", false);
    int64_t other = new_user(f->st, "dora", false);
    assert_int_equal(store_experiment_permission_create(f->st, "1", "carl", "EDIT", NULL, &e), 0);
    assert_int_equal(store_experiment_permission_create(f->st, "1", "dora", "READ", NULL, &e), 0);
    assert_int_equal(store_model_permission_create(f->st, "m", "carl", "MANAGE", NULL, &e), 0);
    char sha[65];
    memset(sha, 'a', 64);
    sha[64] = '\0';
    assert_int_equal(store_refresh_token_insert(f->st, sha, id, time_now_ms() + 1000, &e), 0);

    assert_int_equal(store_user_delete(f->st, "carl", &e), 0);
    store_user u;
    expect_err(store_user_get(f->st, "carl", &u, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "User with username=carl not found");
    store_refresh_token t;
    expect_err(store_refresh_token_get(f->st, sha, &t, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Refresh token not found");
    store_permission p;
    assert_int_equal(store_experiment_permission_get(f->st, "1", "dora", &p, &e), 0);
    store_permission_free(&p);
    if (pg_uri == NULL) {
        assert_int_equal(count_rows(f->path, "SELECT count(*) FROM cairn_experiment_permissions "
                                             "WHERE user_id NOT IN (SELECT id FROM cairn_users)"),
                         0);
        assert_int_equal(count_rows(f->path, "SELECT count(*) FROM "
                                             "cairn_registered_model_permissions"),
                         0);
    }
    expect_err(store_user_delete(f->st, "carl", &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "User with username=carl not found");

    /* The id is never given again. */
    int64_t again = new_user(f->st, "carl", false);
    assert_true(again > id && again > other);
}

static void test_experiment_permissions(void **state)
{
    fixture *f = *state;
    cerr e;
    int64_t id = new_user(f->st, "eve", false);
    store_permission p;
    assert_int_equal(store_experiment_permission_create(f->st, "12", "eve", "READ", &p, &e), 0);
    assert_string_equal(p.resource, "12");
    assert_int_equal(p.user_id, id);
    assert_string_equal(p.permission, "READ");
    store_permission_free(&p);
    expect_err(store_experiment_permission_create(f->st, "12", "eve", "EDIT", &p, &e), &e,
               CERR_RESOURCE_ALREADY_EXISTS,
               "Experiment permission (experiment_id=12, username=eve) already exists.");
    assert_null(p.resource);
    expect_err(store_experiment_permission_create(f->st, "12", "nobody", "EDIT", NULL, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "User with username=nobody not found");
    expect_err(store_experiment_permission_create(f->st, "13", "eve", "WRITE", NULL, &e), &e,
               CERR_INVALID_PARAMETER_VALUE,
               "Invalid permission 'WRITE'. Valid permissions are: ('READ', 'EDIT', 'MANAGE', "
               "'NO_PERMISSIONS')");

    assert_int_equal(store_experiment_permission_get(f->st, "12", "eve", &p, &e), 0);
    assert_string_equal(p.permission, "READ");
    store_permission_free(&p);
    assert_int_equal(store_experiment_permission_update(f->st, "12", "eve", "MANAGE", &e), 0);
    assert_int_equal(store_experiment_permission_get(f->st, "12", "eve", &p, &e), 0);
    assert_string_equal(p.permission, "MANAGE");
    store_permission_free(&p);
    expect_err(store_experiment_permission_update(f->st, "12", "eve", "ALL", &e), &e,
               CERR_INVALID_PARAMETER_VALUE, "Invalid permission 'ALL'");

    expect_err(store_experiment_permission_get(f->st, "99", "eve", &p, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST,
               "Experiment permission with experiment_id=99 and username=eve not found");
    expect_err(store_experiment_permission_update(f->st, "99", "eve", "READ", &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST,
               "Experiment permission with experiment_id=99 and username=eve not found");
    expect_err(store_experiment_permission_delete(f->st, "99", "eve", &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST,
               "Experiment permission with experiment_id=99 and username=eve not found");
    expect_err(store_experiment_permission_get(f->st, "12", "nobody", &p, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "User with username=nobody not found");

    assert_int_equal(store_experiment_permission_create(f->st, "14", "eve", "NO_PERMISSIONS",
                                                        NULL, &e),
                     0);
    store_permission *list;
    size_t n;
    assert_int_equal(store_experiment_permission_list(f->st, "eve", &list, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].resource, "12");
    assert_string_equal(list[1].permission, "NO_PERMISSIONS");
    store_permissions_free(list, n);

    assert_int_equal(store_experiment_permission_delete(f->st, "12", "eve", &e), 0);
    expect_err(store_experiment_permission_get(f->st, "12", "eve", &p, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "Experiment permission with experiment_id=12");
    /* Created again after a delete. */
    assert_int_equal(store_experiment_permission_create(f->st, "12", "eve", "EDIT", NULL, &e), 0);
}

static void test_model_permissions(void **state)
{
    fixture *f = *state;
    cerr e;
    new_user(f->st, "fay", false);
    new_user(f->st, "gil", false);
    store_permission p;
    assert_int_equal(store_model_permission_create(f->st, "net's", "fay", "EDIT", &p, &e), 0);
    assert_string_equal(p.resource, "net's");
    store_permission_free(&p);
    assert_int_equal(store_model_permission_create(f->st, "net's", "gil", "READ", NULL, &e), 0);
    expect_err(store_model_permission_create(f->st, "net's", "fay", "READ", NULL, &e), &e,
               CERR_RESOURCE_ALREADY_EXISTS,
               "Registered model permission (name=net's, username=fay) already exists.");
    expect_err(store_model_permission_get(f->st, "other", "fay", &p, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST,
               "Registered model permission with name=other and username=fay not found");
    expect_err(store_model_permission_update(f->st, "other", "fay", "READ", &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST,
               "Registered model permission with name=other and username=fay not found");
    expect_err(store_model_permission_delete(f->st, "other", "fay", &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST,
               "Registered model permission with name=other and username=fay not found");
    assert_int_equal(store_model_permission_update(f->st, "net's", "fay", "MANAGE", &e), 0);
    assert_int_equal(store_model_permission_rename(f->st, "net's", "net2", &e), 0);
    assert_int_equal(store_model_permission_get(f->st, "net2", "fay", &p, &e), 0);
    assert_string_equal(p.permission, "MANAGE");
    store_permission_free(&p);
    assert_int_equal(store_model_permission_get(f->st, "net2", "gil", &p, &e), 0);
    assert_string_equal(p.permission, "READ");
    store_permission_free(&p);
    store_permission *list;
    size_t n;
    assert_int_equal(store_model_permission_list(f->st, "fay", &list, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].resource, "net2");
    store_permissions_free(list, n);
    expect_err(store_model_permission_list(f->st, "nobody", &list, &n, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "User with username=nobody not found");
    assert_null(list);
    assert_int_equal(store_model_permission_delete(f->st, "net2", "fay", &e), 0);
    /* An experiment permission and a model permission are separate. */
    expect_err(store_experiment_permission_get(f->st, "net2", "gil", &p, &e), &e,
               CERR_RESOURCE_DOES_NOT_EXIST, "Experiment permission with");
}

static void sha_of(char c, char out[65])
{
    memset(out, c, 64);
    out[64] = '\0';
}

static void test_refresh_tokens(void **state)
{
    fixture *f = *state;
    cerr e;
    int64_t id = new_user(f->st, "hal", false);
    int64_t id2 = new_user(f->st, "ida", false);
    int64_t now = time_now_ms();
    char s1[65], s2[65], s3[65], s4[65], s5[65];
    sha_of('1', s1);
    sha_of('2', s2);
    sha_of('3', s3);
    sha_of('4', s4);
    sha_of('5', s5);
    assert_int_equal(store_refresh_token_insert(f->st, s1, id, now + 60000, &e), 0);
    assert_int_equal(store_refresh_token_insert(f->st, s2, id, now + 60000, &e), 0);
    assert_int_equal(store_refresh_token_insert(f->st, s3, id2, now + 60000, &e), 0);
    store_refresh_token t;
    assert_int_equal(store_refresh_token_get(f->st, s1, &t, &e), 0);
    assert_string_equal(t.sha256, s1);
    assert_int_equal(t.user_id, id);
    assert_int_equal(t.expires, now + 60000);
    assert_false(t.revoked);
    expect_err(store_refresh_token_get(f->st, s4, &t, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Refresh token not found");
    assert_int_equal(store_refresh_token_get(f->st, "NOT-HEX", &t, &e), -1);
    assert_int_equal(store_refresh_token_insert(f->st, "abc", id, now, &e), -1);

    /* Rotation: once. */
    int64_t uid;
    assert_int_equal(store_refresh_token_rotate(f->st, s1, s4, now + 120000, now, &uid, &e), 0);
    assert_int_equal(uid, id);
    assert_int_equal(store_refresh_token_get(f->st, s1, &t, &e), 0);
    assert_true(t.revoked);
    assert_int_equal(store_refresh_token_get(f->st, s4, &t, &e), 0);
    assert_false(t.revoked);
    assert_int_equal(t.user_id, id);
    expect_err(store_refresh_token_rotate(f->st, s1, s5, now + 120000, now, &uid, &e), &e,
               CERR_UNAUTHENTICATED, "Refresh token is invalid or expired");
    assert_int_equal(uid, 0);
    expect_err(store_refresh_token_get(f->st, s5, &t, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Refresh token not found");
    /* Expired. */
    expect_err(store_refresh_token_rotate(f->st, s2, s5, now + 120000, now + 60000, &uid, &e),
               &e, CERR_UNAUTHENTICATED, "Refresh token is invalid or expired");

    assert_int_equal(store_refresh_token_revoke(f->st, s3, &e), 0);
    assert_int_equal(store_refresh_token_get(f->st, s3, &t, &e), 0);
    assert_true(t.revoked);
    expect_err(store_refresh_token_revoke(f->st, s5, &e), &e, CERR_RESOURCE_DOES_NOT_EXIST,
               "Refresh token not found");

    assert_int_equal(store_refresh_token_revoke_user(f->st, id, &e), 0);
    assert_int_equal(store_refresh_token_get(f->st, s2, &t, &e), 0);
    assert_true(t.revoked);
    assert_int_equal(store_refresh_token_get(f->st, s4, &t, &e), 0);
    assert_true(t.revoked);
    assert_int_equal(store_refresh_token_revoke_user(f->st, 12345, &e), 0);
}

/* The tables come back on a reopened store, with their rows. */
static void test_reopen(void **state)
{
    fixture *f = *state;
    cerr e;
    new_user(f->st, "jan", true);
    store_close(f->st);
    assert_int_equal(store_open(pg_uri ? pg_uri : f->uri, "/artifacts/", &f->st, &e), 0);
    store_user u;
    assert_int_equal(store_user_get(f->st, "jan", &u, &e), 0);
    assert_true(u.is_admin);
    store_user_free(&u);
}

#define PG(t) cmocka_unit_test_setup_teardown(t, pg_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FX(test_user_create_get),     FX(test_user_list_update), FX(test_user_delete_cascades),
        FX(test_experiment_permissions), FX(test_model_permissions), FX(test_refresh_tokens),
        FX(test_reopen),
    };
    int rc = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    pg_uri = getenv("CAIRN_TEST_PG");
    if (pg_uri == NULL || pg_uri[0] == '\0')
        return rc;
    const struct CMUnitTest pg_tests[] = {
        PG(test_user_create_get),     PG(test_user_list_update), PG(test_user_delete_cascades),
        PG(test_experiment_permissions), PG(test_model_permissions), PG(test_refresh_tokens),
        PG(test_reopen),
    };
    return rc | cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
