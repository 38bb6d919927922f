/* shell.h - quoting a value so that /bin/sh reads it back as one literal word.
 *
 * Every parameter Cairn puts into a command line (MLproject commands, batch
 * scripts) goes through shell_quote. The rule is POSIX single quoting, as
 * Python's shlex.quote does it: a value made only of safe characters is left
 * as it is, anything else is wrapped in '...' with each ' written as '"'"'.
 * The empty string becomes ''. */
#ifndef CAIRN_SHELL_H
#define CAIRN_SHELL_H

#include "sbuf.h"

/* Append the quoted form of s to out. */
void shell_quote(sbuf *out, const char *s);

#endif
