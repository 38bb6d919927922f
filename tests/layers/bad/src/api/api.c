#include "api.h"
#include "../store/store.h"
int api_handle(void) { return store_put(); }
