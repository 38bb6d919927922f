#include "../api/api.h"
#include "../store/store.h"
int http_reply(void);
int http_reply(void) { return api_handle() + store_put(); }
