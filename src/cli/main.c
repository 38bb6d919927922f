/* main.c - `cairn` dispatch: find the subcommand and hand it argv.
 * Kept out of the server objects (the Makefile links those into the unit
 * tests), so it holds nothing but the table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*help)(void);
    const char *summary;
} cli_command;

static const cli_command cli_commands[] = {
    {"server", cli_server, cli_server_help, "Run the MLflow-compatible tracking server"},
    {"experiments", cli_experiments, cli_experiments_help, "List, create, get, rename, delete, restore experiments"},
    {"runs", cli_runs, cli_runs_help, "List, search, get, create, end, delete, restore runs"},
    {"log", cli_log, cli_log_help, "Log a param, metric or tag into a run (MLFLOW_RUN_ID)"},
    {"artifacts", cli_artifacts, cli_artifacts_help, "List, upload and download a run's artifacts"},
    {"sync", cli_sync, cli_sync_help, "Replay the offline spool to the server"},
    {"run", cli_run, cli_run_help, "Run an MLflow project as a tracked job (local or Slurm)"},
    {"import", cli_import, cli_import_help, "Import an MLflow file store (mlruns) into the server"},
    {"submit", cli_submit, cli_submit_help, "Run an MLflow project directory as a job on the server"},
    {"jobs", cli_jobs, cli_jobs_help, "List, show, cancel jobs and print their output"},
    {"login", cli_login, cli_login_help, "Log in: store tokens for the tracking URI (~/.cairn/tokens.json)"},
    {"logout", cli_logout, cli_logout_help, "Revoke and remove the stored tokens of the tracking URI"},
    {"users", cli_users, cli_users_help, "Create, show, delete users; set passwords; grant and revoke"},
};

static void cli_usage(FILE *out)
{
    fprintf(out, "usage: cairn <command> [options]\n"
                 "       cairn help [<command>]\n"
                 "       cairn --version\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        fprintf(out, "  %-12s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(out, "\nRun 'cairn <command> --help' for a command's options.\n");
}

static const cli_command *cli_find(const char *name)
{
    for (size_t i = 0; i < sizeof cli_commands / sizeof cli_commands[0]; i++)
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    return NULL;
}

static int cli_help(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *c = cli_find(argv[1]);
    if (c == NULL) {
        fprintf(stderr, "cairn: no help for unknown command '%s'\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    c->help();
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("cairn %s (MLflow REST API %s)\n", CAIRN_VERSION, CAIRN_MLFLOW_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return cli_help(argc - 1, argv + 1);
    const cli_command *c = cli_find(cmd);
    if (c == NULL) {
        fprintf(stderr, "cairn: unknown command '%s'\n\n", cmd);
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
