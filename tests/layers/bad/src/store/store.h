int store_put(void);
