/* sync.c - `cairn sync [DIR]`: replays an offline spool to the server,
 * exactly once; what cannot be sent stays for the next sync (exit 1). */
#include <string.h>

#include "cmd.h"

static int sync_run(const char *noun, int argc, char **argv);

static const cmd_verb sync_verb = {
    "sync", "[DIR]",
    "Replay the offline spool DIR (default $CAIRN_SPOOL_DIR, else ~/.cairn/spool) to the server.\n"
    "Every record is delivered once; running it again sends nothing twice.",
    sync_run};

static int sync_run(const char *noun, int argc, char **argv)
{
    (void)noun;
    cmd_opt opts[] = {{0}};
    cmd_args a;
    int rc = cmd_parse("sync", &sync_verb, opts, 0, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    cairn_client *c = cmd_client(&a.common, 0);
    if (c == NULL)
        return cmd_status();
    cairn_sync_stats st;
    int r = cairn_spool_sync(c, a.npos ? a.pos[0] : NULL, &st);
    rc = r < 0 ? cmd_fail() : CLI_EXIT_OK;
    cairn_client_close(c);
    if (a.common.json) {
        json_t *j = json_pack("{s:i, s:i, s:i, s:i, s:i}", "sent", st.records_sent, "skipped",
                              st.records_skipped, "kept", st.records_failed, "corrupt", st.records_corrupt,
                              "runs_created", st.runs_created);
        cmd_print_json(j);
        json_decref(j);
    } else {
        printf("sent %d record(s) (%d run(s) created), %d already sent, %d kept for later", st.records_sent,
               st.runs_created, st.records_skipped, st.records_failed);
        if (st.records_corrupt)
            printf(", %d torn record(s) dropped", st.records_corrupt);
        printf("\n");
    }
    return rc;
}

int cli_sync(int argc, char **argv)
{
    return sync_run("sync", argc, argv);
}

void cli_sync_help(void)
{
    cmd_opt opts[] = {{0}};
    cmd_verb_help(stdout, "sync", &sync_verb, opts);
}
