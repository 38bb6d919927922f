int util_count(void);
