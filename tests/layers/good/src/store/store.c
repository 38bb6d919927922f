#include "../util/misc.h"
int store_put(void);
int store_put(void) { return util_count(); }
