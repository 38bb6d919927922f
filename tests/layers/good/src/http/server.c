#include "../api/api.h"
int http_reply(void) { return api_handle(); }
