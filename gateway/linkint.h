/*
 * linkint.h: what link.c (a link's state machine) and linkset.c (the set
 * of this host's links) share; nothing else includes it.
 */
#ifndef PIGEON_LINKINT_H
#define PIGEON_LINKINT_H

#include <event2/event.h>

#include "pigeond.h"

#define RESTART_MIN_MS	1000	/* the longest: restart_max_seconds */

/* link.c: the restart timer's callback (a link's ev_restart). */
void	 link_on_restart(evutil_socket_t, short, void *);
/* linkset.c: sends a link may have unsettled at once, for conf. */
int	 link_window(const struct modem_conf *);
/* linkset.c: a removed link whose process is gone, kept aside. */
void	 link_set_aside(struct link *);

#endif
