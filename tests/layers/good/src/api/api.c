#include "api.h"
int store_put(void);
int api_handle(void) { return store_put(); }
