/* cli.h - the `cairn` command: one function per subcommand (cli_<name>),
 * each taking its own argv (argv[0] is the subcommand's name) and returning
 * the process exit status: 0 success, 1 failure at run time, 2 bad usage. */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#include "cairn.h" /* CAIRN_VERSION_STRING, the one version */

#define CAIRN_VERSION CAIRN_VERSION_STRING
/* The MLflow release whose REST API and schema Cairn implements. */
#define CAIRN_MLFLOW_VERSION "2.9.2"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cli_server(int argc, char **argv);
void cli_server_help(void);
/* Client commands over libcairn (cmd.h). */
int cli_experiments(int argc, char **argv);
void cli_experiments_help(void);
int cli_runs(int argc, char **argv);
void cli_runs_help(void);
int cli_log(int argc, char **argv);
void cli_log_help(void);
int cli_artifacts(int argc, char **argv);
void cli_artifacts_help(void);
int cli_sync(int argc, char **argv);
void cli_sync_help(void);
int cli_import(int argc, char **argv);
void cli_import_help(void);
/* The job service (docs/JOBS.md). */
int cli_submit(int argc, char **argv);
void cli_submit_help(void);
int cli_jobs(int argc, char **argv);
void cli_jobs_help(void);
/* Logging in and administration (login.c, users.c). */
int cli_login(int argc, char **argv);
void cli_login_help(void);
int cli_logout(int argc, char **argv);
void cli_logout_help(void);
int cli_users(int argc, char **argv);
void cli_users_help(void);
/* `cairn run DIR`: an MLflow project as a tracked job (run.c). */
int cli_run(int argc, char **argv);
void cli_run_help(void);

#endif
