/* container.c - a command line wrapped so that it runs inside the job's
 * container, for the job body of both backends (slurm_script.c).
 *
 * The command always runs as `/bin/sh -c CMD` inside the image, CMD quoted
 * as one word, so the project's command reaches the container's shell
 * exactly as resolved. Per runtime:
 *   apptainer / singularity   apptainer exec [--nv] IMAGE /bin/sh -c CMD
 *                             (--nv when GPUsPerNode > 0; the runtime binds
 *                             the working directory and passes the
 *                             environment itself)
 *   charliecloud              ch-run -b PROJECT:PROJECT -c PROJECT IMAGE -- /bin/sh -c CMD
 *                             (IMAGE an unpacked image directory or SquashFS
 *                             file; ch-run passes the environment but neither
 *                             binds the project nor changes directory itself)
 *   podman                    podman run --rm --env-host --network=host
 *                             -v PROJECT:PROJECT -w PROJECT
 *                             [--device nvidia.com/gpu=all] IMAGE /bin/sh -c CMD
 *                             (podman passes no environment unless asked)
 * None of these runtimes is installed on the test machine: the forms are
 * checked as text by the unit tests, not run. */
#include "backend_int.h"

#include "../util/shell.h"

static void word(sbuf *out, const char *w)
{
    sbuf_putc(out, ' ');
    shell_quote(out, w);
}

static void apptainer(sbuf *out, const char *prog, const backend_config *cfg)
{
    sbuf_puts(out, prog);
    sbuf_puts(out, " exec");
    if (cfg->resources.gpus_per_node > 0)
        sbuf_puts(out, " --nv");
    word(out, cfg->image);
}

static void charliecloud(sbuf *out, const backend_config *cfg, const char *dir)
{
    sbuf bind = SBUF_INIT;
    sbuf_printf(&bind, "%s:%s", dir, dir);
    sbuf_puts(out, "ch-run -b");
    word(out, bind.data);
    sbuf_puts(out, " -c");
    word(out, dir);
    word(out, cfg->image);
    sbuf_puts(out, " --");
    sbuf_free(&bind);
}

static void podman(sbuf *out, const backend_config *cfg, const char *dir)
{
    sbuf vol = SBUF_INIT;
    sbuf_printf(&vol, "%s:%s", dir, dir);
    sbuf_puts(out, "podman run --rm --env-host --network=host -v");
    word(out, vol.data);
    sbuf_puts(out, " -w");
    word(out, dir);
    if (cfg->resources.gpus_per_node > 0)
        sbuf_puts(out, " --device nvidia.com/gpu=all");
    word(out, cfg->image);
    sbuf_free(&vol);
}

int container_wrap(const backend_config *cfg, const char *project_dir, const char *cmd,
                   sbuf *out, cerr *e)
{
    if (cfg->container != CONTAINER_NONE && (cfg->image == NULL || cfg->image[0] == '\0'))
        return cerr_set(e, CERR_INVALID_PARAMETER_VALUE, "ContainerRuntime %s needs an Image",
                        container_runtime_name(cfg->container));
    size_t start = out->len;
    switch (cfg->container) {
    case CONTAINER_NONE:
        break;
    case CONTAINER_APPTAINER:
        apptainer(out, "apptainer", cfg);
        break;
    case CONTAINER_SINGULARITY:
        apptainer(out, "singularity", cfg);
        break;
    case CONTAINER_CHARLIECLOUD:
        charliecloud(out, cfg, project_dir);
        break;
    case CONTAINER_PODMAN:
        podman(out, cfg, project_dir);
        break;
    default:
        return cerr_set(e, CERR_INTERNAL_ERROR, "unknown container runtime %d", (int)cfg->container);
    }
    if (out->len > start)
        sbuf_putc(out, ' ');
    sbuf_puts(out, "/bin/sh -c");
    word(out, cmd);
    return 0;
}
