#include "store.h"
int http_reply(void);
int util_count(void);
int store_put(void) { return http_reply() + util_count(); }
