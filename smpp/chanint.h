/*
 * chanint.h: what main.c (the channel to pigeond: its config, the JSON
 * lines) gives deliver.c (a deliver_sm told as an `sms` or a `report`).
 * Not an API: smpp.h is.
 */
#ifndef PIGEON_CHANINT_H
#define PIGEON_CHANINT_H

#include <jansson.h>

#include "smpp.h"

/* The config pigeond sent (zeroes before it came). */
const struct link_config *main_config(void);
/* A new event of that type; emit sends it to pigeond and frees it. */
json_t	*msg_new(const char *type);
void	 emit(json_t *);
/* A JSON string of bytes an SMSC sent, repaired if not UTF-8. */
json_t	*jstr(const char *);
/* Every spelling of every id, for matching receipts (smpp_id_keys). */
json_t	*keys_array(char ids[][SMPP_ID_SIZE], int n);

#endif
