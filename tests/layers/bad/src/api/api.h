int api_handle(void);
