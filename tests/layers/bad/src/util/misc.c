int util_count(void);
int store_put(void);
int util_count(void) { return store_put(); }
